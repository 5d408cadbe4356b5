//! Compiles every contract under `proto/` with the pure-Rust `protox` compiler (no system
//! `protoc` needed), generates messages, clients and servers, writes the file descriptor
//! set for server reflection, and a module tree mirroring the protobuf packages.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut files = Vec::new();
    collect(&root.join("aftersales"), &mut files);
    files.sort();
    println!("cargo:rerun-if-changed={}", root.display());
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let fds = protox::compile(&files, [&root]).expect("protos compile");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    fs::write(
        out.join("descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )
    .unwrap();

    let packages: Vec<String> = fds
        .file
        .iter()
        .filter_map(|f| f.package.clone())
        .filter(|p| !p.starts_with("google.protobuf"))
        .collect();

    let mut config = tonic_prost_build::Config::new();
    // Type names let the outbox stamp each event with its full protobuf name.
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Maps encode in a stable order, so idempotency hashes of a request are stable.
        .btree_map(".")
        // Services whose domain has not landed answer UNIMPLEMENTED from default methods.
        .generate_default_stubs(true)
        .compile_fds_with_config(fds, config)
        .expect("code generation");

    fs::write(out.join("packages.rs"), module_tree(&packages)).unwrap();
}

/// Nested `pub mod` items that `include!` each generated package file.
fn module_tree(packages: &[String]) -> String {
    #[derive(Default)]
    struct Node {
        children: BTreeMap<String, Node>,
        file: Option<String>,
    }
    let mut root = Node::default();
    for p in packages {
        let mut node = &mut root;
        for part in p.split('.') {
            node = node.children.entry(part.to_string()).or_default();
        }
        node.file = Some(format!("{p}.rs"));
    }
    fn render(node: &Node, out: &mut String) {
        if let Some(f) = &node.file {
            out.push_str(&format!(
                "include!(concat!(env!(\"OUT_DIR\"), \"/{f}\"));\n"
            ));
        }
        for (name, child) in &node.children {
            out.push_str(&format!("pub mod {name} {{\n"));
            render(child, out);
            out.push_str("}\n");
        }
    }
    let mut out = String::new();
    render(&root, &mut out);
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("proto dir") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}
