# METADATA
# title: Required tag missing
# description: >-
#   An example of a team's own rule: every connection must carry the tags
#   that policy data lists in custom["missing-required-tag"].required_tags
#   (Owner when the data does not say), so that a finding always reaches an
#   owner. Severity low: an inventory gap, not a weakness.
# related_resources:
#   - ref: https://www.alibabacloud.com/help/en/resource-management/tag/
#     description: Alibaba Cloud, tags
# custom:
#   id: missing-required-tag
#   severity: low
#   remediation: >-
#     Add the missing tags to the connection (TagResources, ResourceType
#     VPNCONNECTION).
package vpncheck.rules.missing_required_tag

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), {}, tag, message) if {
	some tag in lib.custom("missing-required-tag", "required_tags", ["Owner"])
	not _has_tag(tag)
	message := sprintf("connection has no %s tag", [tag])
}

_has_tag(tag) if input.connection.tags[tag] != ""
