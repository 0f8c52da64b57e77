package checker

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report in the documented JSON shape.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
