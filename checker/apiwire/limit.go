package apiwire

import (
	"errors"
	"fmt"
	"io"
)

// ErrBodyTooLarge is a body cut off at the size limit LimitBody sets.
var ErrBodyTooLarge = errors.New("body too large")

// LimitBody returns r cut off after limit bytes: reading past the limit
// fails with an error wrapping ErrBodyTooLarge, which the decoder passes on.
func LimitBody(r io.Reader, limit int64) io.Reader {
	return &limitedBody{r: r, left: limit, limit: limit}
}

type limitedBody struct {
	r           io.Reader
	left, limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := io.ReadFull(l.r, one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, l.limit)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
