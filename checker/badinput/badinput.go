// Package badinput marks errors that are the user's input's fault: a flag,
// a setting or a file that cannot be used. The command line exits 2 on
// them. It owns only that mark, and imports nothing of vpncheck.
package badinput

import (
	"errors"
	"fmt"
)

// Err marks bad input from the user: a flag, a setting or a file that
// cannot be used. The command line exits 2 on it.
var Err = errors.New("bad input")

// Error is an Err with its own wording.
type Error struct{ Msg string }

func (e Error) Error() string        { return e.Msg }
func (e Error) Is(target error) bool { return target == Err }

// Errorf formats an Error.
func Errorf(format string, a ...any) error { return Error{fmt.Sprintf(format, a...)} }
