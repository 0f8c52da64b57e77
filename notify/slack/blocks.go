package slack

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"

	"github.com/vpncheck/vpncheck/checker/report"
)

// block is a Block Kit block and the characters of text it carries.
type block struct {
	b slackgo.Block
	n int
}

// headerBlock holds our own plain text (never cloud text: plain_text has
// no escaping).
func headerBlock(text string) block {
	text = truncRunes(text, MaxHeaderText)
	return block{slackgo.NewHeaderBlock(slackgo.NewTextBlockObject(slackgo.PlainTextType, text, true, false)), utf8.RuneCountInString(text)}
}

// sectionBlock holds mrkdwn text already made inert; too long a text is
// cut where no entity or link breaks. Verbatim: Slack links, mentions and
// channel names only what the renderer marked up itself.
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

// noteReserve is room kept in the first message for the note that says
// what the message budget left out (see leftOut.note).
const noteReserve = 800

// packer fills at most max messages with blocks, within Slack's limits.
// Nothing is ever added past the budget: add reports false instead.
type packer struct {
	msgs [][]block
	cur  []block
	curN int
	max  int
	// noteAt is where the first message's summary ends (an index into its
	// blocks): the note about what was left out goes there.
	noteAt int
}

func newPacker(max int) *packer { return &packer{max: max} }

// limits are the text and blocks the current message may hold.
func (p *packer) limits() (chars, blocks int) {
	chars, blocks = messageBudget-footerReserve, MaxBlocks-1
	if len(p.msgs) == 0 {
		chars, blocks = chars-noteReserve, blocks-1
	}
	return chars, blocks
}

// fitsN reports whether chars more characters in blocks more blocks fit in
// the current message.
func (p *packer) fitsN(chars, blocks int) bool {
	maxChars, maxBlocks := p.limits()
	return p.curN+chars <= maxChars && len(p.cur)+blocks <= maxBlocks
}

func (p *packer) fits(bs ...block) bool {
	n := 0
	for _, b := range bs {
		n += b.n
	}
	return p.fitsN(n, len(bs))
}

// open reports whether the current message exists or may be started.
func (p *packer) open() bool { return len(p.cur) > 0 || len(p.msgs) < p.max }

// canBreak reports whether the current message may be closed and another
// started within the budget.
func (p *packer) canBreak() bool { return len(p.cur) == 0 || len(p.msgs)+1 < p.max }

// put adds b to the current message; the caller made sure it fits.
func (p *packer) put(b block) {
	p.cur = append(p.cur, b)
	p.curN += b.n
}

// addHere adds b to the current message only.
func (p *packer) addHere(b block) bool {
	if !p.open() || !p.fits(b) {
		return false
	}
	p.put(b)
	return true
}

func (p *packer) breakMessage() {
	if len(p.cur) > 0 {
		p.msgs = append(p.msgs, p.cur)
		p.cur, p.curN = nil, 0
	}
}

// markNote records that the first message's summary ends here.
func (p *packer) markNote() {
	if len(p.msgs) == 0 {
		p.noteAt = len(p.cur)
	}
}

// list adds a titled list of lines as sections, as many lines as fit in
// the current message; with across it goes on in new messages (under the
// title, continued) while the budget allows. Lines that do not fit are
// counted in a closing line made by more. It returns how many lines were
// shown; 0 with nothing added when not even the title and the closing
// line fit.
func (p *packer) list(title string, lines []string, more func(left int) string, across bool) int {
	if len(lines) == 0 {
		return 0
	}
	var sec []string
	secN := 0
	flush := func() {
		if len(sec) > 0 {
			p.put(sectionBlock(strings.Join(sec, "\n")))
			sec, secN = nil, 0
		}
	}
	// room reports whether the pending section plus n characters fit, as
	// one or two sections.
	room := func(n int) bool {
		blocks := 1
		if secN+n > sectionBudget {
			blocks = 2
		}
		return p.open() && p.fitsN(secN+n, blocks)
	}
	line := func(l string) {
		n := utf8.RuneCountInString(l) + 1
		if secN+n > sectionBudget {
			flush()
		}
		sec = append(sec, l)
		secN += n
	}
	moreLen := func(left int) int { return utf8.RuneCountInString(more(left)) + 1 }

	titleN := utf8.RuneCountInString(title) + 1
	first := titleN + utf8.RuneCountInString(lines[0]) + 1
	if len(lines) > 1 {
		first += moreLen(len(lines) - 1)
	}
	if !room(first) && across && len(p.cur) > 0 && p.canBreak() {
		p.breakMessage() // start the list afresh
	}
	if !room(first) {
		if room(titleN + moreLen(len(lines))) {
			line(title)
			line(more(len(lines)))
			flush()
		}
		return 0
	}
	line(title)
	shown := 0
	for i, l := range lines {
		n := utf8.RuneCountInString(l) + 1
		rest := len(lines) - i - 1
		need := n
		if rest > 0 {
			need += moreLen(rest)
		}
		if !room(need) {
			if across && p.canBreak() {
				flush()
				p.breakMessage()
				line(title + " _(continued)_")
				if room(need) {
					line(l)
					shown++
					continue
				}
			}
			line(more(len(lines) - i))
			break
		}
		line(l)
		shown++
	}
	flush()
	return shown
}

// details adds each connection's findings, worst connection first, while
// the budget allows; it returns the findings that did not fit.
func (p *packer) details(conns []*report.Group, now time.Time) []report.Finding {
	var omitted []report.Finding
	stopped := false
	for _, g := range conns {
		if stopped {
			omitted = append(omitted, g.Findings...)
			continue
		}
		hdr := sectionBlock(connHeader(g, false))
		group := make([]block, len(g.Findings))
		for i, f := range g.Findings {
			group[i] = sectionBlock(findingText(f, now))
		}
		if b, ok := connectionFix(g); ok { // the connection's one change (fixcmd.go)
			group = append(group, b)
		}
		lead := []block{hdr}
		if len(p.cur) > 0 {
			lead = []block{dividerBlock(), hdr}
		}
		// Keep a connection in one message when it fits in a fresh one;
		// at least its header and first finding go together.
		whole := append(append([]block{}, lead...), group...)
		first := append(append([]block{}, lead...), group[0])
		if len(p.cur) > 0 && (!p.fits(whole...) || !p.fits(first...)) {
			if !p.canBreak() {
				if !p.fits(first...) {
					stopped = true
					omitted = append(omitted, g.Findings...)
					continue
				}
			} else {
				p.breakMessage()
				lead = []block{hdr}
			}
		}
		if !p.open() || !p.fits(append(append([]block{}, lead...), group[0])...) {
			stopped = true
			omitted = append(omitted, g.Findings...)
			continue
		}
		for _, b := range lead {
			p.put(b)
		}
		for i, fb := range group {
			if !p.fits(fb) {
				if !p.canBreak() {
					stopped = true
					omitted = append(omitted, g.Findings[i:]...)
					break
				}
				p.breakMessage()
				p.put(sectionBlock(connHeader(g, true)))
			}
			p.put(fb)
		}
	}
	return omitted
}

// finish closes the last message, puts note (if any) where the first
// message's summary ends, and gives every message its footer and fallback
// text.
func (p *packer) finish(meta Meta, fallback string, note *block) []Message {
	p.breakMessage()
	if note != nil && len(p.msgs) > 0 {
		first := p.msgs[0]
		at := min(p.noteAt, len(first))
		p.msgs[0] = append(append(append([]block{}, first[:at]...), *note), first[at:]...)
	}
	out := make([]Message, len(p.msgs))
	for i, bs := range p.msgs {
		foot := "vpncheck"
		if meta.RunKey != "" {
			foot += " · run " + code(meta.RunKey, 120)
		}
		if meta.PolicyRevision != "" {
			foot += " · policies " + code(meta.PolicyRevision, 80)
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

// truncMrkdwn cuts inert mrkdwn to at most max characters without
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
