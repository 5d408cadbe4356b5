//! What the contracts say a port serves, read from the descriptor set every service is
//! built with: the methods of each gRPC service, so the layer can tell an unknown method
//! (UNIMPLEMENTED) from a known one without a rule, and tests can walk every RPC.

use std::collections::BTreeSet;

use prost::Message;
use prost_types::FileDescriptorSet;

/// `/package.Service/Method` for every method of the named gRPC `services`, sorted. A name
/// the descriptor set does not hold contributes nothing.
pub fn method_paths(services: &[&str]) -> BTreeSet<String> {
    let set = FileDescriptorSet::decode(aftersales_proto::FILE_DESCRIPTOR_SET)
        .expect("the built-in descriptor set decodes");
    let mut paths = BTreeSet::new();
    for file in &set.file {
        let package = file.package();
        for service in &file.service {
            let full = format!("{package}.{}", service.name());
            if services.contains(&full.as_str()) {
                for m in &service.method {
                    paths.insert(format!("/{full}/{}", m.name()));
                }
            }
        }
    }
    paths
}

/// Every gRPC service the descriptor set declares, by full name.
pub fn all_services() -> BTreeSet<String> {
    let set = FileDescriptorSet::decode(aftersales_proto::FILE_DESCRIPTOR_SET)
        .expect("the built-in descriptor set decodes");
    set.file
        .iter()
        .flat_map(|f| {
            f.service
                .iter()
                .map(move |s| format!("{}.{}", f.package(), s.name()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_methods_of_a_contract() {
        let paths = method_paths(&["aftersales.sla.v1.TimerCallback"]);
        assert_eq!(
            paths.into_iter().collect::<Vec<_>>(),
            ["/aftersales.sla.v1.TimerCallback/OnTimerEvent"]
        );
        assert!(method_paths(&["no.such.Service"]).is_empty());
        assert!(all_services().contains("aftersales.refunds.v1.RefundsService"));
    }
}
