//! A whole chapter-3 request, as the configuration thread answers it: a set that is refused
//! changes neither the live state nor the state file; a set that is accepted is durable
//! (the service reopened from disk has the same state and renders the same table).

#![no_main]

use ipcam_api::platform::sim::SimPlatform;
use ipcam_api::{ConfigService, InitialAdmin, Resource, RuntimeInfo, State};
use ipcam_fuzz::scratch_dir;
use ipcam_httpd::harness::decode_form;
use libfuzzer_sys::fuzz_target;

const RUNTIME: RuntimeInfo<'static> = RuntimeInfo {
    model: "IPCAM-1",
    firmware_version: "0.1.0",
    http_port: 80,
    viewers: &[],
    latest_frame_size: Some(12345),
    open_port: None,
    upnp_external_ip: None,
    ddns_status: None,
};

fn open(dir: &std::path::Path) -> ConfigService {
    ConfigService::open(
        dir,
        Box::new(SimPlatform::new()),
        InitialAdmin::Password("fuzzpass".into()),
    )
    .expect("a state directory of the fuzzer's opens")
    .0
}

fn table(service: &mut ConfigService, resource: Resource) -> String {
    service
        .handle(resource, &[], &RUNTIME)
        .expect("a plain GET answers")
        .body
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, query)) = data.split_first() else {
        return;
    };
    let Ok((params, _binary)) = decode_form(query) else {
        return;
    };
    let resource = Resource::ALL[usize::from(pick) % Resource::ALL.len()];
    let dir = scratch_dir();
    let mut service = open(dir.path());
    let before: State = service.state().clone();
    match service.handle(resource, &params, &RUNTIME) {
        Err(_) => {
            assert_eq!(
                service.state(),
                &before,
                "a refused request changed the state"
            );
            assert_eq!(
                open(dir.path()).state(),
                &before,
                "a refused request was saved"
            );
        }
        Ok(_) if resource == Resource::Reset => {}
        Ok(_) => {
            let after = service.state().clone();
            let mut reopened = open(dir.path());
            assert_eq!(
                reopened.state(),
                &after,
                "an accepted request was not saved"
            );
            // The date-and-time tables render the running clock: their state was compared.
            if !matches!(resource, Resource::DateTime | Resource::ActiveUser) {
                assert_eq!(
                    table(&mut reopened, resource),
                    table(&mut service, resource)
                );
            }
        }
    }
});
