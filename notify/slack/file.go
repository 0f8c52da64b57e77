package slack

import (
	"context"
	"errors"
	"fmt"

	slackgo "github.com/slack-go/slack"

	"github.com/vpncheck/vpncheck/notify"
)

// refusedForGood are the answers after which uploading again cannot help:
// the token, the workspace or the channel does not allow the file.
var refusedForGood = map[string]bool{
	"missing_scope": true, "not_allowed_token_type": true, "no_permission": true, "access_denied": true,
	"file_uploads_disabled": true, "file_uploads_except_images_disabled": true, "file_upload_size_restricted": true,
	"file_type_not_allowed": true, "not_in_channel": true, "restricted_action": true, "ekm_access_denied": true,
}

// attach uploads the complete report into the summary's thread through
// Slack's external upload flow (files.getUploadURLExternal, the upload to
// the URL it gave, files.completeUploadExternal: slack-go's
// UploadFileContext). It returns the file's id; or, when Slack refused the
// file for good, why (and no error); or the error that remained after
// retries.
func (n *Notifier) attach(ctx context.Context, g notify.Guard, f File, thread string) (id, why string, err error) {
	content := g.Scrub(string(f.Content))
	if !g.Clean(content) || !g.Clean(f.Name) || !g.Clean(f.Title) {
		return "", "", errors.New("guard the complete report: a secret survived scrubbing; not sent")
	}
	id, err = n.retry(ctx, func() (string, error) {
		sum, err := n.api.UploadFileContext(ctx, slackgo.UploadFileParameters{
			Content: content, FileSize: len(content), Filename: f.Name, Title: f.Title,
			Channel: n.cfg.Channel, ThreadTimestamp: thread,
		})
		if err != nil {
			return "", err
		}
		return sum.ID, nil
	})
	var se slackgo.SlackErrorResponse
	if errors.As(err, &se) && refusedForGood[se.Err] {
		why = se.Err
		if se.Needed != "" {
			why += fmt.Sprintf(" (the token needs %s)", se.Needed)
		}
		return "", why, nil
	}
	return id, "", err
}

// renderUnattached is the message that takes the file's place when Slack
// refused the complete report for good.
func renderUnattached(why string, meta Meta) Message {
	p := newPacker(1)
	p.put(sectionBlock(":page_facing_up: *The complete report could not be attached here:* Slack answered " + code(why, 200) +
		". A bot token needs the files:write scope for it. For the complete report run `vpncheck check --format json`, or read this run's result in the function's logs."))
	return p.finish(meta, "VPN check: the complete report could not be attached", nil)[0]
}
