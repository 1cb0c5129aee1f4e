//! What an attacker tries against the outbound HTTP guard and the request-object checks; each
//! test names the attack it stops.

use std::net::IpAddr;

use url::Url;
use wallet_protocol::net::{NetError, NetPolicy, RefusalReason};
use wallet_protocol::openid4vp::{check_request_uri_origin, RequestObjectError};

fn dev() -> NetPolicy {
    NetPolicy {
        dev: true,
        extra_ca_pem: None,
    }
}

/// A host name that resolves to an IPv6 address tunnelling to an internal IPv4 address
/// (IPv4-compatible, 6to4, Teredo) or to a site-local address must not be reached.
#[test]
fn ipv6_forms_that_reach_ipv4_or_site_local_are_refused() {
    for ip in [
        "::7f00:1",
        "::a00:1",
        "::169.254.169.254",
        "2002:a9fe:a9fe::1",
        "2002:7f00:1::",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "fec0::1",
        "feff::1",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        for p in [NetPolicy::default(), dev()] {
            assert_eq!(
                p.check_ip(ip).unwrap_err().to_string(),
                NetError::Refused(RefusalReason::ForbiddenAddress(ip)).to_string(),
                "{ip} (dev {})",
                p.dev
            );
        }
    }
    // Ordinary global IPv6 stays reachable.
    assert!(NetPolicy::default()
        .check_ip("2001:4860:4860::8888".parse().unwrap())
        .is_ok());
}

/// Development mode trusts loopback test servers only: a link must not turn a wallet in
/// development mode into a scanner of the office network (RFC 1918, CGNAT, ULA).
#[test]
fn development_mode_allows_loopback_but_not_private_networks() {
    for ip in ["127.0.0.1", "::1"] {
        assert!(dev().check_ip(ip.parse().unwrap()).is_ok(), "{ip}");
    }
    for ip in [
        "10.0.0.8",
        "172.16.3.4",
        "192.168.1.1",
        "100.64.0.1",
        "fd00::1",
        "::ffff:192.168.1.1",
    ] {
        assert!(dev().check_ip(ip.parse().unwrap()).is_err(), "{ip}");
    }
}

/// An unsigned link may not make the wallet fetch from a host other than the verifier's:
/// `request_uri` must be on `client_id`'s origin.
#[test]
fn request_uri_on_another_origin_than_client_id_is_refused() {
    let u = |s: &str| Url::parse(s).unwrap();
    let client = u("https://as.example/oauth2/a");
    assert!(
        check_request_uri_origin(&client, &u("https://as.example/oauth2/a/request.jwt/1")).is_ok()
    );
    for other in [
        "https://evil.example/r",
        "https://as.example:8443/r",
        "https://sub.as.example/r",
        "http://as.example/r",
    ] {
        assert!(
            matches!(
                check_request_uri_origin(&client, &u(other)),
                Err(RequestObjectError::RequestUriOrigin(_))
            ),
            "{other}"
        );
    }
}
