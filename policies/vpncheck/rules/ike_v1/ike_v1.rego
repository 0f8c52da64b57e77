# METADATA
# title: IKEv1 in use
# description: >-
#   The tunnel negotiates with IKEv1. RFC 9395 deprecates IKEv1 and RFC 8247
#   and NIST SP 800-77 Rev. 1 recommend IKEv2, which has fewer round trips,
#   built-in DoS protection and no aggressive mode. Severity low: IKEv1 with
#   strong algorithms is not broken by itself, and the weak-algorithm rules
#   report the real exposure. Gateways with China certified cryptography (an
#   IKE algorithm in china_crypto_algorithms, sm3/sm4 by default) can only run
#   IKEv1, so the rule does not fire there.
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc9395
#     description: RFC 9395, deprecation of IKEv1 and obsoleted algorithms
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: ike-v1
#   severity: low
#   remediation: >-
#     Set the IKE version to ikev2 on the connection and on the customer
#     gateway device, if the device supports it.
package vpncheck.rules.ike_v1

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, version, message) if {
	some tunnel in input.tunnels
	version := tunnel.ike.version
	lib.denied("ike_version", version)
	not _china_crypto(tunnel.ike)
	message := sprintf("IKE version is %s%s", [version, lib.on(tunnel)])
}

_china_crypto(ike) if lib.listed(lib.config.china_crypto_algorithms, ike.encryption)

_china_crypto(ike) if lib.listed(lib.config.china_crypto_algorithms, ike.integrity)
