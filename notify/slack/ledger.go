package slack

import "sync"

// ledger remembers, in process memory, which messages of which run were
// delivered: run key and kind -> message index -> Slack timestamp (empty
// for a webhook). It holds a bounded number of runs, dropping the oldest.
type ledger struct {
	mu    sync.Mutex
	max   int
	runs  map[string]map[int]string
	order []string
}

// record is a copy of what the ledger knows about one run and kind.
type record struct{ parts map[int]string }

func newLedger(max int) *ledger { return &ledger{max: max, runs: map[string]map[int]string{}} }

func ledgerKey(key string, kind msgKind) string { return string(kind) + "\x00" + key }

func (l *ledger) load(key string, kind msgKind) record {
	rec := record{parts: map[int]string{}}
	if key == "" {
		return rec
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, ts := range l.runs[ledgerKey(key, kind)] {
		rec.parts[i] = ts
	}
	return rec
}

func (l *ledger) mark(key string, kind msgKind, part int, ts string) {
	if key == "" {
		return
	}
	k := ledgerKey(key, kind)
	l.mu.Lock()
	defer l.mu.Unlock()
	parts := l.runs[k]
	if parts == nil {
		parts = map[int]string{}
		l.runs[k] = parts
		l.order = append(l.order, k)
		for len(l.order) > l.max {
			delete(l.runs, l.order[0])
			l.order = l.order[1:]
		}
	}
	parts[part] = ts
}
