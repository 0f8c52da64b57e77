package notify

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

type fixedScrubber []string

func (f fixedScrubber) Scrub(s string) string {
	for _, v := range f {
		s = strings.ReplaceAll(s, v, "****")
	}
	return s
}

func TestGuardMessage(t *testing.T) {
	g := newGuard(fixedScrubber{"a<b"}, credentialStrings("https://hooks.example/services/T/B/S3CR3T", "xoxb-T0K"))
	section := func(s string) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, s, false, false), nil, nil)
	}
	out, err := g.message(Message{Text: "see https://hooks.example/services/T/B/S3CR3T and xoxb-T0K", Blocks: []slack.Block{
		section("path /services/T/B/S3CR3T"),
		slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, "xoxb-T0K", false, false)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{out.Text, out.Blocks[0].(*slack.SectionBlock).Text.Text} {
		if strings.Contains(s, "S3CR3T") || strings.Contains(s, "xoxb-T0K") {
			t.Errorf("a credential survived: %q", s)
		}
	}
	if _, err := g.message(Message{Text: "x", Blocks: []slack.Block{section("key a&lt;b")}}); err == nil {
		t.Error("a secret in escaped form was let through")
	}
	if _, err := g.message(Message{Text: "x", Blocks: []slack.Block{slack.NewImageBlock("https://x/i.png", "alt", "", nil)}}); err == nil {
		t.Error("an unknown block type was let through unscrubbed")
	}
}
