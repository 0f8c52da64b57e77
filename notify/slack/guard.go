package slack

import (
	"errors"
	"fmt"
	"github.com/vpncheck/vpncheck/notify"
	"strings"

	slackgo "github.com/slack-go/slack"
)

var unescapeMrkdwn = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// message returns a scrubbed copy of m. Every text of every block is
// scrubbed, and then checked once more with mrkdwn's escapes undone: a
// secret that only shows escaped (a<b as a&lt;b) stops the message. A
// block type the guard does not know is refused, so nothing unscrubbed can
// slip through a new kind of block.
func guardMessage(g notify.Guard, m Message) (Message, error) {
	out := Message{Text: g.Scrub(m.Text), Blocks: make([]slackgo.Block, 0, len(m.Blocks))}
	var leaked bool
	text := func(t *slackgo.TextBlockObject) *slackgo.TextBlockObject {
		if t == nil {
			return nil
		}
		c := *t
		c.Text = g.Scrub(c.Text)
		if !g.Clean(unescapeMrkdwn.Replace(c.Text)) {
			leaked = true
		}
		return &c
	}

	for i, b := range m.Blocks {
		switch b := b.(type) {
		case *slackgo.HeaderBlock:
			c := *b
			c.Text = text(b.Text)
			out.Blocks = append(out.Blocks, &c)
		case *slackgo.SectionBlock:
			if b.Accessory != nil {
				return Message{}, fmt.Errorf("scrub block %d: section accessories are not supported", i)
			}
			c := *b
			c.Text = text(b.Text)
			c.Fields = make([]*slackgo.TextBlockObject, len(b.Fields))
			for j, f := range b.Fields {
				c.Fields[j] = text(f)
			}
			out.Blocks = append(out.Blocks, &c)
		case *slackgo.ContextBlock:
			c := *b
			c.ContextElements.Elements = make([]slackgo.MixedElement, len(b.ContextElements.Elements))
			for j, e := range b.ContextElements.Elements {
				t, ok := e.(*slackgo.TextBlockObject)
				if !ok {
					return Message{}, fmt.Errorf("scrub block %d: context element %T is not supported", i, e)
				}
				c.ContextElements.Elements[j] = text(t)
			}
			out.Blocks = append(out.Blocks, &c)
		case *slackgo.DividerBlock:
			out.Blocks = append(out.Blocks, b)
		default:
			return Message{}, fmt.Errorf("scrub block %d: block type %T is not supported", i, b)
		}
	}
	if leaked || !g.Clean(unescapeMrkdwn.Replace(out.Text)) {
		return Message{}, errors.New("a secret survived scrubbing in escaped form; not sent")
	}
	return out, nil
}
