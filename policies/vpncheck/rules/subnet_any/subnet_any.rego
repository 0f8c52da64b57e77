# METADATA
# title: Subnet allows any address
# description: >-
#   The connection's local or remote subnet list (its traffic selectors)
#   includes 0.0.0.0/0, so the tunnel accepts or carries traffic for every
#   address, not only the networks it was built for: a compromised peer
#   reaches everything routed to it, and all internet-bound traffic may leave
#   through the peer. NIST SP 800-77 Rev. 1 recommends traffic selectors
#   that match only the intended networks. Severity medium: broad exposure
#   that needs another weakness to be exploited. The any-address values are
#   policy data (subnets.any). Each side is a finding of its own, with its
#   side (local or remote).
# related_resources:
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs, on traffic selectors
#   - ref: https://www.rfc-editor.org/rfc/rfc4301#section-4.4.1
#     description: RFC 4301, the security policy database and its selectors
# custom:
#   id: subnet-any
#   severity: medium
#   remediation: >-
#     Replace 0.0.0.0/0 with the specific CIDR blocks each side needs to
#     reach, on the connection and on the customer gateway device.
package vpncheck.rules.subnet_any

import rego.v1

import data.vpncheck.lib

# Each side is its own finding, named by its side field, so that the two
# findings of one connection keep apart ids and read apart.
deny contains object.union(lib.finding(rego.metadata.chain(), {}, cidr, message), {"side": side}) if {
	some side in ["local", "remote"]
	some cidr in object.get(input.connection, sprintf("%s_subnets", [side]), [])
	lib.listed(lib.config.subnets.any, cidr)
	message := sprintf("%s subnet list includes %s", [side, cidr])
}
