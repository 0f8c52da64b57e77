# METADATA
# title: Weak IPsec integrity algorithm
# description: >-
#   Phase 2 (ESP) authenticates the tunnel's traffic with HMAC-MD5 or
#   HMAC-SHA1. RFC 8221 section 6 marks AUTH_HMAC_MD5_96 MUST NOT and
#   AUTH_HMAC_SHA1_96 MUST- (to be phased out); NIST SP 800-77 Rev. 1
#   recommends SHA-2. The default severity is high (md5); policy data lowers
#   sha1 to medium, since it is deprecated rather than broken as an HMAC.
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc8221#section-6
#     description: RFC 8221, ESP authentication algorithms
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: ipsec-weak-integrity
#   severity: high
#   remediation: >-
#     Set the IPsec authentication algorithm to sha256 (or sha384, sha512; sm3
#     on a China-certified-cryptography gateway) on the connection and on the
#     customer gateway device, in the same change window.
package vpncheck.rules.ipsec_weak_integrity

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, alg, message) if {
	some tunnel in input.tunnels
	alg := tunnel.ipsec.integrity
	lib.denied("integrity", alg)
	message := sprintf("IPsec integrity algorithm is %s%s", [alg, lib.on(tunnel)])
}
