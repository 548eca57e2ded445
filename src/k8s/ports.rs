//! The ports Kubernetes components serve on, and what is usually found on
//! them: knowledge the probes use to order their work and the reports use
//! to name a port. The verdicts come from what the ports answer, never from
//! these numbers alone.

/// The ports Kubernetes components serve on, by the component.
pub const COMPONENT_PORTS: [(u16, &str); 12] = [
    (6443, "kube-apiserver"),
    (8080, "kube-apiserver (insecure port)"),
    (10250, "kubelet"),
    (10255, "kubelet read-only port"),
    (10248, "kubelet healthz"),
    (10257, "kube-controller-manager"),
    (10259, "kube-scheduler"),
    (2379, "etcd client"),
    (2380, "etcd peer"),
    (2381, "etcd metrics"),
    (10249, "kube-proxy metrics"),
    (10256, "kube-proxy healthz"),
];

/// Ports that speak plain HTTP unless someone changed them: health checks,
/// metrics, the kubelet's read-only port, the insecure API port. Only used
/// to order the probes (the verdicts come from what the ports answer).
pub const USUALLY_PLAINTEXT: [u16; 6] = [10248, 10256, 10249, 2381, 10255, 8080];

/// The kubelet's port, where the anonymous `GET /pods` is made.
pub const KUBELET_PORT: u16 = 10250;
/// What the anonymous-access check asks the kubelet for.
pub const KUBELET_ANONYMOUS_PATH: &str = "/pods";

/// Ports named by URLs such as etcd's `--listen-client-urls`
/// (`https://10.0.0.1:2379,https://127.0.0.1:2379`).
pub fn url_ports<'a>(urls: impl IntoIterator<Item = &'a str>) -> Vec<u16> {
    let mut ports = Vec::new();
    for u in urls.into_iter().flat_map(|u| u.split(',')) {
        let port = u
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok());
        if let Some(p) = port.filter(|p| !ports.contains(p)) {
            ports.push(p);
        }
    }
    ports
}
