package slack

import (
	"github.com/vpncheck/vpncheck/notify"
	"strings"
	"testing"

	slackgo "github.com/slack-go/slack"
)

type fixedScrubber []string

func (f fixedScrubber) Scrub(s string) string {
	for _, v := range f {
		s = strings.ReplaceAll(s, v, "****")
	}
	return s
}

func TestGuardMessage(t *testing.T) {
	g := notify.NewGuard(fixedScrubber{"a<b"}, notify.CredentialForms("https://hooks.example/services/T/B/S3CR3T", "xoxb-T0K"))
	section := func(s string) slackgo.Block {
		return slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false), nil, nil)
	}
	out, err := guardMessage(g, Message{Text: "see https://hooks.example/services/T/B/S3CR3T and xoxb-T0K", Blocks: []slackgo.Block{
		section("path /services/T/B/S3CR3T"),
		slackgo.NewContextBlock("", slackgo.NewTextBlockObject(slackgo.MarkdownType, "xoxb-T0K", false, false)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{out.Text, out.Blocks[0].(*slackgo.SectionBlock).Text.Text} {
		if strings.Contains(s, "S3CR3T") || strings.Contains(s, "xoxb-T0K") {
			t.Errorf("a credential survived: %q", s)
		}
	}
	if _, err := guardMessage(g, Message{Text: "x", Blocks: []slackgo.Block{section("key a&lt;b")}}); err == nil {
		t.Error("a secret in escaped form was let through")
	}
	if _, err := guardMessage(g, Message{Text: "x", Blocks: []slackgo.Block{slackgo.NewImageBlock("https://x/i.png", "alt", "", nil)}}); err == nil {
		t.Error("an unknown block type was let through unscrubbed")
	}
}
