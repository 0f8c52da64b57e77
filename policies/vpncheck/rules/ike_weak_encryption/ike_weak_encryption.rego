# METADATA
# title: Weak IKE encryption algorithm
# description: >-
#   Phase 1 (IKE) encrypts with DES or 3DES. RFC 8247 section 2.1 marks
#   ENCR_DES MUST NOT and leaves ENCR_3DES at MAY only for legacy peers; its
#   64-bit block is open to Sweet32-style collision attacks. NIST SP 800-77
#   Rev. 1 recommends AES. Severity high: the IKE SA protects the keys of
#   every IPsec SA under it. The denied list is policy data (values.encryption).
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc8247#section-2.1
#     description: RFC 8247, IKEv2 encryption algorithms
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: ike-weak-encryption
#   severity: high
#   remediation: >-
#     Set the IKE encryption algorithm to aes256 (or aes, aes192; sm4 on a
#     China-certified-cryptography gateway) on the connection and on the
#     customer gateway device, in the same change window.
package vpncheck.rules.ike_weak_encryption

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, alg, message) if {
	some tunnel in input.tunnels
	alg := tunnel.ike.encryption
	lib.denied("encryption", alg)
	message := sprintf("IKE encryption algorithm is %s%s", [alg, lib.on(tunnel)])
}
