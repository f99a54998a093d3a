//! `kcfed dashboard` end to end: the primary's Kubecost UI on a local port, forwarded through the
//! fake API server's port-forward subresource (the WebSocket protocol kube's client and kubectl
//! speak) to a listener standing in for the UI container; Ctrl-C stops it. A 2.x agent has no UI,
//! and a cluster outside the fleet is bad input. A Kubecost 3 fleet is found by its bucket.

mod common;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;

use serde_json::json;

use common::{World, assert_exit, stderr};
use support::moto::Moto;

const REGION: &str = "us-east-2";
const POD: &str = "kubecost-cost-analyzer-7d9f8c6b5-x2x4q";

/// What the chart runs in a cluster, as far as the dashboard looks: the UI's Deployment
/// (labelled with its chart: `kubecost-cost-analyzer` on 1.x and 2.x, `kubecost-frontend` on 3.x)
/// and its running pod, whose port 9090 is `ui`.
fn install_ui(world: &World, cluster: &str, chart: &str, ui: std::net::SocketAddr) {
    let kube = &world.cluster(cluster).kube;
    let deployment = if chart.starts_with("kubecost-3") {
        "kubecost-frontend"
    } else {
        "kubecost-cost-analyzer"
    };
    let labels = json!({ "app": "cost-analyzer", "app.kubernetes.io/instance": "kubecost" });
    kube.insert(
        "deployments",
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": deployment,
                "namespace": "kubecost",
                "labels": { "helm.sh/chart": chart },
            },
            "spec": {
                "replicas": 1,
                "selector": { "matchLabels": labels },
                "template": {
                    "metadata": { "labels": labels },
                    "spec": { "containers": [{ "name": "cost-analyzer-frontend", "image": "frontend" }] },
                },
            },
        }),
    );
    kube.insert(
        "pods",
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": POD, "namespace": "kubecost", "labels": labels },
            "spec": { "containers": [{ "name": "cost-analyzer-frontend", "image": "frontend" }] },
            "status": { "phase": "Running" },
        }),
    );
    kube.serve_pod_port(9090, ui);
}

/// A UI that answers one request with a page.
fn ui_server() -> (std::net::SocketAddr, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let served = std::thread::spawn(move || {
        let (mut connection, _) = listener.accept().expect("a forwarded connection");
        let mut request = Vec::new();
        let mut buffer = [0_u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            let read = connection.read(&mut buffer).unwrap();
            assert!(read > 0, "the request ended early");
            request.extend_from_slice(&buffer[..read]);
        }
        connection
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\nConnection: close\r\n\r\nKubecost UI page")
            .unwrap();
        String::from_utf8(request).unwrap()
    });
    (addr, served)
}

/// Runs `kcfed dashboard` with `args`, asks the forwarded port for a page as a browser would, and
/// stops it with Ctrl-C: the page, once the command has ended successfully.
fn page_through_dashboard(world: &World, args: &[&str]) -> String {
    let mut dashboard = world
        .command(&[&["dashboard", "--port", "0"], args].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kcfed dashboard");
    let mut url = String::new();
    BufReader::new(dashboard.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let address = url
        .trim()
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("a URL first: {url:?}"));

    let mut browser = TcpStream::connect(address).expect("the local port listens");
    browser
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut page = String::new();
    browser.read_to_string(&mut page).unwrap();
    // Ctrl-C ends it, successfully.
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &dashboard.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = dashboard.wait_with_output().unwrap();
    assert_exit(&output, 0);
    page
}

#[test]
fn the_primarys_ui_is_forwarded_to_a_local_port_until_interrupted() {
    let world = World::new(Moto::shared(), REGION, &["prod", "lab"]);
    world.init_workspace_id(&[]);
    let joined = world.join(&["lab"], &["--chart-version", "2.8.7", "--yes"]);
    assert_exit(&joined, 0);
    let (ui, served) = ui_server();
    install_ui(&world, "prod", "cost-analyzer-1.103.4", ui);
    install_ui(&world, "lab", "cost-analyzer-2.8.7", ui);

    let page = page_through_dashboard(&world, &[]);
    assert!(page.ends_with("Kubecost UI page"), "{page:?}");
    assert!(served.join().unwrap().starts_with("GET / HTTP/1.1\r\n"));
    let forwards: Vec<_> = world
        .cluster("prod")
        .kube
        .requests()
        .into_iter()
        .filter(|request| request.path.ends_with("/portforward"))
        .collect();
    assert_eq!(forwards.len(), 1, "{forwards:?}");
    assert_eq!(
        forwards[0].path,
        format!("/api/v1/namespaces/kubecost/pods/{POD}/portforward")
    );
    let query = forwards[0].query.as_deref().unwrap_or_default();
    assert!(query.split('&').any(|pair| pair == "ports=9090"), "{query}");

    let agent = world.kcfed(&["dashboard", "--cluster", "lab"]);
    assert_exit(&agent, 2);
    assert!(stderr(&agent).contains("has no UI"), "{}", stderr(&agent));
    assert!(stderr(&agent).contains("kcfed dashboard` without --cluster"));

    let ghost = world.kcfed(&["dashboard", "--cluster", "ghost"]);
    assert_exit(&ghost, 2);
    assert!(
        stderr(&ghost).contains(r#"cluster "ghost" was not found in the fleet"#),
        "{}",
        stderr(&ghost)
    );
}

/// A Kubecost 3 fleet has no workspace: the dashboard finds it, and its primary, by its bucket.
#[test]
fn a_kubecost_3_fleet_is_found_by_its_bucket() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let made = world.init_primary(&["--chart-version", "3.2.1", "--identity", "irsa", "--yes"]);
    assert_exit(&made, 0);
    let (ui, served) = ui_server();
    install_ui(&world, "prod", "kubecost-3.2.1", ui);
    let page = page_through_dashboard(&world, &[]);
    assert!(page.ends_with("Kubecost UI page"), "{page:?}");
    assert!(served.join().unwrap().starts_with("GET / HTTP/1.1\r\n"));
}
