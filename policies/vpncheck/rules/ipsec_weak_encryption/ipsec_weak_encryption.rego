# METADATA
# title: Weak IPsec encryption algorithm
# description: >-
#   Phase 2 (ESP) encrypts the tunnel's traffic with DES or 3DES. RFC 8221
#   section 5 marks ENCR_DES MUST NOT and ENCR_3DES SHOULD NOT (64-bit block,
#   Sweet32); NIST SP 800-77 Rev. 1 recommends AES. Severity high: this is the
#   cipher that protects the data itself. The denied list is policy data
#   (values.encryption).
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc8221#section-5
#     description: RFC 8221, ESP encryption algorithms
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: ipsec-weak-encryption
#   severity: high
#   remediation: >-
#     Set the IPsec encryption algorithm to aes256 (or aes, aes192; sm4 on a
#     China-certified-cryptography gateway) on the connection and on the
#     customer gateway device, in the same change window.
package vpncheck.rules.ipsec_weak_encryption

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, alg, message) if {
	some tunnel in input.tunnels
	alg := tunnel.ipsec.encryption
	lib.denied("encryption", alg)
	message := sprintf("IPsec encryption algorithm is %s%s", [alg, lib.on(tunnel)])
}
