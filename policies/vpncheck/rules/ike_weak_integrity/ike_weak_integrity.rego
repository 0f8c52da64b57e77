# METADATA
# title: Weak IKE integrity algorithm
# description: >-
#   Phase 1 (IKE) uses an integrity algorithm that is no longer acceptable.
#   RFC 8247 section 2.3 marks HMAC-MD5 MUST NOT and HMAC-SHA1 MUST- (to be
#   phased out); NIST SP 800-77 Rev. 1 recommends SHA-2. The default severity
#   is high (md5); policy data lowers sha1 to medium, since no practical
#   attack on HMAC-SHA1 is known but it is deprecated.
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc8247#section-2.3
#     description: RFC 8247, IKEv2 integrity algorithms
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: ike-weak-integrity
#   severity: high
#   remediation: >-
#     Set the IKE authentication algorithm to sha256 (or sha384, sha512; sm3
#     on a China-certified-cryptography gateway) on the connection and on the
#     customer gateway device, in the same change window.
package vpncheck.rules.ike_weak_integrity

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, alg, message) if {
	some tunnel in input.tunnels
	alg := tunnel.ike.integrity
	lib.denied("integrity", alg)
	message := sprintf("IKE integrity algorithm is %s%s", [alg, lib.on(tunnel)])
}
