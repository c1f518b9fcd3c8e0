//! The chapter-3 resources and their paths.

/// One configuration or information CGI of chapter 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `/cgiversion.cgi` (3.1.1).
    CgiVersion,
    /// `/isystem.cgi` (3.1.2).
    ISystem,
    /// `/system.cgi` (3.1.3/3.1.4).
    System,
    /// `/datetime.cgi` (3.1.5/3.1.6).
    DateTime,
    /// `/user.cgi` (3.2.1/3.2.2).
    User,
    /// `/userlist.cgi` (3.2.3-3.2.5).
    UserList,
    /// `/activeuser.cgi` (3.2.6).
    ActiveUser,
    /// `/iimage.cgi` (3.3.1; the spec lists it under `/image.cgi`, see DESIGN.md).
    IImage,
    /// `/image.cgi` (3.3.2/3.3.3).
    Image,
    /// `/inetwork.cgi` (3.4.1).
    INetwork,
    /// `/network.cgi` (3.4.2/3.4.3).
    Network,
    /// `/iwireless.cgi` (3.4.4).
    IWireless,
    /// `/wireless.cgi` (3.4.5/3.4.6).
    Wireless,
    /// `/upload.cgi` (3.5.1/3.5.2).
    Upload,
    /// `/email.cgi` (3.5.3/3.5.4).
    Email,
    /// `/reset.cgi` (3.6.1/3.6.2).
    Reset,
    /// `/motion.cgi`: motion detection and event actions (extension, after the spec's).
    Motion,
}

impl Resource {
    /// Every resource, in the spec's order.
    pub const ALL: [Resource; 17] = [
        Resource::CgiVersion,
        Resource::ISystem,
        Resource::System,
        Resource::DateTime,
        Resource::User,
        Resource::UserList,
        Resource::ActiveUser,
        Resource::IImage,
        Resource::Image,
        Resource::INetwork,
        Resource::Network,
        Resource::IWireless,
        Resource::Wireless,
        Resource::Upload,
        Resource::Email,
        Resource::Reset,
        Resource::Motion,
    ];

    /// The request path.
    pub fn path(self) -> &'static str {
        match self {
            Resource::CgiVersion => "/cgiversion.cgi",
            Resource::ISystem => "/isystem.cgi",
            Resource::System => "/system.cgi",
            Resource::DateTime => "/datetime.cgi",
            Resource::User => "/user.cgi",
            Resource::UserList => "/userlist.cgi",
            Resource::ActiveUser => "/activeuser.cgi",
            Resource::IImage => "/iimage.cgi",
            Resource::Image => "/image.cgi",
            Resource::INetwork => "/inetwork.cgi",
            Resource::Network => "/network.cgi",
            Resource::IWireless => "/iwireless.cgi",
            Resource::Wireless => "/wireless.cgi",
            Resource::Upload => "/upload.cgi",
            Resource::Email => "/email.cgi",
            Resource::Reset => "/reset.cgi",
            Resource::Motion => "/motion.cgi",
        }
    }

    /// The resource served at `path` (exact, case-sensitive, as the firmware's).
    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.path() == path)
    }

    /// Whether the resource only reports and takes no parameters.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Resource::CgiVersion
                | Resource::ISystem
                | Resource::ActiveUser
                | Resource::IImage
                | Resource::INetwork
                | Resource::IWireless
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for resource in Resource::ALL {
            assert_eq!(Resource::from_path(resource.path()), Some(resource));
        }
        assert_eq!(Resource::from_path("/System.cgi"), None);
        assert_eq!(Resource::from_path("/image.jpg"), None);
    }
}
