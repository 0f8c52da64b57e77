package slack

import (
	"fmt"
	"strings"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"

	"github.com/vpncheck/vpncheck/checker/report"
)

// block is a Block Kit block and the characters of text it carries.
type block struct {
	b slackgo.Block
	n int
}

func headerBlock(text string) block {
	text = truncRunes(text, MaxHeaderText)
	return block{slackgo.NewHeaderBlock(slackgo.NewTextBlockObject(slackgo.PlainTextType, text, true, false)), utf8.RuneCountInString(text)}
}

// sectionBlock holds mrkdwn text already escaped; too long a text is cut
// where no entity or link breaks.
func sectionBlock(text string) block {
	text = truncMrkdwn(text, sectionBudget)
	return block{slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, text, false, true), nil, nil), utf8.RuneCountInString(text)}
}

// sectionBlocks splits mrkdwn text at line ends into sections within budget.
func sectionBlocks(text string) []block {
	var out []block
	var cur []string
	n := 0
	for _, line := range strings.Split(text, "\n") {
		l := utf8.RuneCountInString(line) + 1
		if n+l > sectionBudget && len(cur) > 0 {
			out = append(out, sectionBlock(strings.Join(cur, "\n")))
			cur, n = nil, 0
		}
		cur = append(cur, line)
		n += l
	}
	if len(cur) > 0 {
		out = append(out, sectionBlock(strings.Join(cur, "\n")))
	}
	return out
}

func contextBlock(text string) block {
	text = truncMrkdwn(text, 1000)
	return block{slackgo.NewContextBlock("", slackgo.NewTextBlockObject(slackgo.MarkdownType, text, false, true)), utf8.RuneCountInString(text)}
}

func dividerBlock() block { return block{slackgo.NewDividerBlock(), 0} }

// footerReserve is room kept in every message for its footer.
const footerReserve = 300

// packer fills messages with blocks within the limits.
type packer struct {
	msgs        [][]block
	cur         []block
	curN        int
	detailsFrom int // index of the first message that counts as detail
}

func newPacker() *packer { return &packer{} }

func (p *packer) fits(bs ...block) bool {
	n := p.curN
	for _, b := range bs {
		n += b.n
	}
	return len(p.cur)+len(bs) <= MaxBlocks-1 && n <= messageBudget-footerReserve
}

func (p *packer) add(b block) {
	if !p.fits(b) {
		p.breakMessage()
	}
	p.cur = append(p.cur, b)
	p.curN += b.n
}

func (p *packer) addOrNew(b block) { p.add(b) }

func (p *packer) breakMessage() {
	if len(p.cur) > 0 {
		p.msgs = append(p.msgs, p.cur)
		p.cur, p.curN = nil, 0
	}
}

// mayBreak reports whether another detail message may be started.
func (p *packer) mayBreak(limit int) bool {
	if len(p.cur) == 0 {
		return len(p.msgs)-p.detailsFrom < limit
	}
	return len(p.msgs)+1-p.detailsFrom < limit
}

// details adds each connection's findings, worst connection first, in at
// most limit detail messages; it returns what did not fit.
func (p *packer) details(conns []*report.Group, limit int) omission {
	om := omission{conns: map[*report.Group]bool{}}
	stopped := false
	omit := func(g *report.Group, fs []report.Finding) {
		om.findings = append(om.findings, fs...)
		om.conns[g] = true
	}
	for _, g := range conns {
		if stopped {
			omit(g, g.Findings)
			continue
		}
		hdr := sectionBlock(connHeader(g, false))
		group := []block{hdr}
		for _, f := range g.Findings {
			group = append(group, sectionBlock(findingText(f)))
		}
		lead := []block{hdr}
		if len(p.cur) > 0 {
			lead = []block{dividerBlock(), hdr}
		}
		// fresh starts a new message for this connection if one may still be
		// started; otherwise the connection is summarised and packing stops.
		fresh := func() bool {
			if !p.mayBreak(limit) {
				stopped = true
				omit(g, g.Findings)
				return false
			}
			p.breakMessage()
			lead = []block{hdr}
			return true
		}
		// Keep a connection in one message when it fits in a fresh one.
		if len(p.cur) > 0 && !p.fits(append(lead, group[1:]...)...) && !fresh() {
			continue
		}
		// Header plus at least the first finding, or nothing.
		if !p.fits(append(lead, group[1])...) && !fresh() {
			continue
		}
		for _, b := range lead {
			p.add(b)
		}
		for i := range g.Findings {
			fb := group[i+1]
			if !p.fits(fb) {
				cont := sectionBlock(connHeader(g, true))
				if !p.mayBreak(limit) {
					stopped = true
					omit(g, g.Findings[i:])
					break
				}
				p.breakMessage()
				p.add(cont)
			}
			p.add(fb)
		}
	}
	return om
}

// finish closes the last message and gives every message its footer and
// fallback text.
func (p *packer) finish(runKey, fallback string) []Message {
	p.breakMessage()
	out := make([]Message, len(p.msgs))
	for i, bs := range p.msgs {
		foot := "vpncheck"
		if runKey != "" {
			foot += " · run " + code(runKey, 120)
		}
		if len(p.msgs) > 1 {
			foot += fmt.Sprintf(" · message %d of %d", i+1, len(p.msgs))
		}
		bs = append(bs, contextBlock(foot))
		m := Message{Text: fallback, Blocks: make([]slackgo.Block, len(bs))}
		if i > 0 {
			m.Text = fmt.Sprintf("VPN check details, message %d of %d", i+1, len(p.msgs))
		}
		for j, b := range bs {
			m.Blocks[j] = b.b
		}
		out[i] = m
	}
	return out
}

// truncMrkdwn cuts escaped mrkdwn to at most max characters without
// splitting an entity (&amp;) or a link (<url|text>).
func truncMrkdwn(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	cut := string([]rune(s)[:max-1])
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	if i := strings.LastIndexByte(cut, '<'); i >= 0 && !strings.Contains(cut[i:], ">") {
		cut = cut[:i]
	}
	return cut + "…"
}
