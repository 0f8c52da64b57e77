// Package rt is the runtime of the Go that tools/irgen generates from OPA's
// plan of the built-in policies: the IR's value operations over OPA's own
// terms, and the built-in functions those policies call. Built-ins are
// OPA's own implementations (topdown), with a native path only where it
// is visibly the same function, so that the compiled policies fail, format
// and compare exactly as the interpreter does.
package rt

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Builtins maps each built-in function the runtime implements to the Go
// function the generator calls. The generator refuses a plan that calls
// any other.
var Builtins = map[string]string{
	"concat":            "Concat",
	"count":             "Count",
	"gt":                "GT",
	"lt":                "LT",
	"gte":               "GTE",
	"lte":               "LTE",
	"neq":               "NEQ",
	"equal":             "Equal",
	"internal.member_2": "Member2",
	"is_string":         "IsString",
	"is_object":         "IsObject",
	"is_array":          "IsArray",
	"is_set":            "IsSet",
	"is_number":         "IsNumber",
	"is_boolean":        "IsBoolean",
	"is_null":           "IsNull",
	"lower":             "Lower",
	"object.get":        "ObjectGet",
	"object.union":      "ObjectUnion",
	"sort":              "Sort",
	"sprintf":           "Sprintf",
}

// ErrConflict is a complete rule or object key given two different values.
var ErrConflict = errors.New("eval_conflict_error: complete rules must not produce multiple outputs")

// BuiltinError is a built-in function's error, as strict evaluation
// (rego.StrictBuiltinErrors) reports it: the evaluation fails.
type BuiltinError struct {
	Name string
	Err  error
}

func (e *BuiltinError) Error() string { return fmt.Sprintf("%s: %v", e.Name, e.Err) }
func (e *BuiltinError) Unwrap() error { return e.Err }

// Bool constants, as OPA interns them.
var (
	True  = ast.InternedTerm(true)
	False = ast.InternedTerm(false)
)

// Dot is source[key] as the IR reads it: an object's value, an array's
// element at an integer index, a set's member itself; nil (undefined)
// for anything else.
func Dot(source, key *ast.Term) *ast.Term {
	switch v := source.Value.(type) {
	case ast.Object:
		return v.Get(key)
	case *ast.Array:
		n, ok := key.Value.(ast.Number)
		if !ok {
			return nil
		}
		i, ok := n.Int()
		if !ok || i < 0 || i >= v.Len() {
			return nil
		}
		return v.Elem(i)
	case ast.Set:
		if v.Contains(key) {
			return key
		}
	}
	return nil
}

// Iter walks a collection as the IR's scan does: an array's indexes and
// elements, an object's keys and values, a set's members (key and value
// alike). Anything else has nothing to walk.
type Iter struct {
	Key, Value *ast.Term
	arr        *ast.Array
	obj        ast.Object
	keys       []*ast.Term
	i          int
}

// NewIter starts a walk over t.
func NewIter(t *ast.Term) Iter {
	switch v := t.Value.(type) {
	case *ast.Array:
		return Iter{arr: v}
	case ast.Object:
		return Iter{obj: v, keys: v.Keys()}
	case ast.Set:
		return Iter{keys: v.Slice()}
	}
	return Iter{}
}

// Next moves to the next element, and says whether there was one.
func (it *Iter) Next() bool {
	switch {
	case it.arr != nil:
		if it.i >= it.arr.Len() {
			return false
		}
		it.Key, it.Value = ast.InternedTerm(it.i), it.arr.Elem(it.i)
	case it.obj != nil:
		if it.i >= len(it.keys) {
			return false
		}
		it.Key = it.keys[it.i]
		it.Value = it.obj.Get(it.Key)
	default:
		if it.i >= len(it.keys) {
			return false
		}
		it.Key, it.Value = it.keys[it.i], it.keys[it.i]
	}
	it.i++
	return true
}

// Compare orders two defined values as OPA does.
func Compare(a, b *ast.Term) int { return a.Value.Compare(b.Value) }

// IsFalse says whether t is the boolean false.
func IsFalse(t *ast.Term) bool {
	b, ok := t.Value.(ast.Boolean)
	return ok && !bool(b)
}

// Len is the number of elements of a collection (the IR's LenStmt).
func Len(t *ast.Term) (*ast.Term, error) {
	switch v := t.Value.(type) {
	case *ast.Array:
		return ast.InternedTerm(v.Len()), nil
	case ast.Object:
		return ast.InternedTerm(v.Len()), nil
	case ast.Set:
		return ast.InternedTerm(v.Len()), nil
	}
	return nil, fmt.Errorf("length of a %s", ast.ValueName(t.Value))
}

// Assign is the IR's assign-once: a second, different value is a conflict.
func Assign(target **ast.Term, v *ast.Term) error {
	if *target != nil && Compare(*target, v) != 0 {
		return ErrConflict
	}
	*target = v
	return nil
}

// InsertOnce is the IR's insert-once: a key given two different values is
// a conflict.
func InsertOnce(obj, k, v *ast.Term) error {
	o := obj.Value.(ast.Object)
	if old := o.Get(k); old != nil && Compare(old, v) != 0 {
		return ErrConflict
	}
	o.Insert(k, v)
	return nil
}

// Append is the IR's array append: in place, as every alias sees it.
func Append(arr, v *ast.Term) { arr.Value = arr.Value.(*ast.Array).Append(v) }

// delegate calls OPA's own implementation of a built-in function.
func delegate(name string, args ...*ast.Term) (*ast.Term, error) {
	fn := topdown.GetBuiltin(name)
	if fn == nil {
		return nil, fmt.Errorf("built-in function %s is not available", name)
	}
	var out *ast.Term
	bctx := topdown.BuiltinContext{Context: context.Background()}
	if err := fn(bctx, args, func(t *ast.Term) error { out = t; return nil }); err != nil {
		return nil, &BuiltinError{Name: name, Err: err}
	}
	return out, nil
}

// Concat is concat.
func Concat(a, b *ast.Term) (*ast.Term, error) { return delegate("concat", a, b) }

// Count is count: natively for collections, OPA's otherwise.
func Count(a *ast.Term) (*ast.Term, error) {
	switch v := a.Value.(type) {
	case *ast.Array:
		return ast.InternedTerm(v.Len()), nil
	case ast.Object:
		return ast.InternedTerm(v.Len()), nil
	case ast.Set:
		return ast.InternedTerm(v.Len()), nil
	}
	return delegate("count", a)
}

// GT is >, as OPA compares.
func GT(a, b *ast.Term) (*ast.Term, error) { return ast.InternedTerm(Compare(a, b) > 0), nil }

// LT is <.
func LT(a, b *ast.Term) (*ast.Term, error) { return ast.InternedTerm(Compare(a, b) < 0), nil }

// GTE is >=.
func GTE(a, b *ast.Term) (*ast.Term, error) { return ast.InternedTerm(Compare(a, b) >= 0), nil }

// LTE is <=.
func LTE(a, b *ast.Term) (*ast.Term, error) { return ast.InternedTerm(Compare(a, b) <= 0), nil }

// NEQ is !=.
func NEQ(a, b *ast.Term) (*ast.Term, error) { return ast.InternedTerm(!a.Equal(b)), nil }

// Equal is ==.
func Equal(a, b *ast.Term) (*ast.Term, error) { return ast.InternedTerm(a.Equal(b)), nil }

// Member2 is `x in collection`.
func Member2(a, b *ast.Term) (*ast.Term, error) { return delegate("internal.member_2", a, b) }

// IsString is is_string.
func IsString(a *ast.Term) (*ast.Term, error) {
	_, ok := a.Value.(ast.String)
	return ast.InternedTerm(ok), nil
}

// IsObject is is_object.
func IsObject(a *ast.Term) (*ast.Term, error) {
	_, ok := a.Value.(ast.Object)
	return ast.InternedTerm(ok), nil
}

// IsArray is is_array.
func IsArray(a *ast.Term) (*ast.Term, error) {
	_, ok := a.Value.(*ast.Array)
	return ast.InternedTerm(ok), nil
}

// IsSet is is_set.
func IsSet(a *ast.Term) (*ast.Term, error) {
	_, ok := a.Value.(ast.Set)
	return ast.InternedTerm(ok), nil
}

// IsNumber is is_number.
func IsNumber(a *ast.Term) (*ast.Term, error) {
	_, ok := a.Value.(ast.Number)
	return ast.InternedTerm(ok), nil
}

// IsBoolean is is_boolean.
func IsBoolean(a *ast.Term) (*ast.Term, error) {
	_, ok := a.Value.(ast.Boolean)
	return ast.InternedTerm(ok), nil
}

// IsNull is is_null.
func IsNull(a *ast.Term) (*ast.Term, error) {
	_, ok := a.Value.(ast.Null)
	return ast.InternedTerm(ok), nil
}

// Lower is lower: natively for a string (the same strings.ToLower, the
// operand itself when it is already lower case), OPA's error otherwise.
func Lower(a *ast.Term) (*ast.Term, error) {
	s, ok := a.Value.(ast.String)
	if !ok {
		return delegate("lower", a)
	}
	low := strings.ToLower(string(s))
	if low == string(s) {
		return a, nil
	}
	return ast.InternedTerm(low), nil
}

// ObjectGet is object.get: OPA's code, natively for an object operand
// (OPA's error otherwise).
func ObjectGet(o, path, d *ast.Term) (*ast.Term, error) {
	obj, ok := o.Value.(ast.Object)
	if !ok {
		return delegate("object.get", o, path, d)
	}
	arr, ok := path.Value.(*ast.Array)
	if !ok {
		return cmp.Or(obj.Get(path), d), nil
	}
	curr := o
	for i := range arr.Len() {
		if curr = curr.Get(arr.Elem(i)); curr == nil {
			break
		}
	}
	return cmp.Or(curr, d), nil
}

// ObjectGetPath is object.get(o, [path...], d) without building the path
// array: the generator calls it where the plan builds an array only to
// hand it to object.get.
func ObjectGetPath(o, d *ast.Term, path ...*ast.Term) (*ast.Term, error) {
	if _, ok := o.Value.(ast.Object); !ok {
		return delegate("object.get", o, ast.ArrayTerm(slices.Clone(path)...), d)
	}
	curr := o
	for _, k := range path {
		if curr = curr.Get(k); curr == nil {
			break
		}
	}
	return cmp.Or(curr, d), nil
}

// SprintfArgs is sprintf(f, [args...]) without building the array, as
// ObjectGetPath is for object.get.
func SprintfArgs(f *ast.Term, args ...*ast.Term) (*ast.Term, error) {
	format, ok := f.Value.(ast.String)
	if ok {
		vals := make([]any, len(args))
		for i, a := range args {
			s, isStr := a.Value.(ast.String)
			if !isStr {
				ok = false
				break
			}
			vals[i] = string(s)
		}
		if ok {
			return ast.StringTerm(fmt.Sprintf(string(format), vals...)), nil
		}
	}
	return delegate("sprintf", f, ast.ArrayTerm(slices.Clone(args)...))
}

// ObjectUnion is object.union: OPA's code, natively for two objects
// (OPA's error otherwise).
func ObjectUnion(a, b *ast.Term) (*ast.Term, error) {
	objA, ok := a.Value.(ast.Object)
	objB, ok2 := b.Value.(ast.Object)
	if !ok || !ok2 {
		return delegate("object.union", a, b)
	}
	if objA.Len() == 0 {
		return b, nil
	}
	if objB.Len() == 0 || objA.Compare(objB) == 0 {
		return a, nil
	}
	return ast.NewTerm(mergeWithOverwrite(objA, objB)), nil
}

func mergeWithOverwrite(objA, objB ast.Object) ast.Object {
	merged, _ := objA.MergeWith(objB, func(v1, v2 *ast.Term) (*ast.Term, bool) {
		o1, ok1 := v1.Value.(ast.Object)
		o2, ok2 := v2.Value.(ast.Object)
		if !ok1 || !ok2 {
			return v2, false // the right-hand value wins
		}
		return ast.NewTerm(mergeWithOverwrite(o1, o2)), false
	})
	return merged
}

// Sort is sort.
func Sort(a *ast.Term) (*ast.Term, error) { return delegate("sort", a) }

// Sprintf is sprintf: natively when every argument is a string (OPA
// hands each to fmt.Sprintf as a Go string), OPA's otherwise (numbers
// have OPA's own formatting).
func Sprintf(f, args *ast.Term) (*ast.Term, error) {
	format, ok := f.Value.(ast.String)
	arr, ok2 := args.Value.(*ast.Array)
	if !ok || !ok2 {
		return delegate("sprintf", f, args)
	}
	vals := make([]any, arr.Len())
	for i := range vals {
		s, ok := arr.Elem(i).Value.(ast.String)
		if !ok {
			return delegate("sprintf", f, args)
		}
		vals[i] = string(s)
	}
	return ast.StringTerm(fmt.Sprintf(string(format), vals...)), nil
}

// SourceHash identifies the policies the generated code runs: the
// modules (by name, as OPA prints them, with their METADATA), not the
// data, which the code reads at run time like the interpreter does. The
// generated code carries the hash of the modules it was generated from;
// an engine uses it only for modules with the same hash.
func SourceHash(modules map[string]*ast.Module) (string, error) {
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		m := modules[name]
		ann, err := json.Marshal(m.Annotations)
		if err != nil {
			return "", fmt.Errorf("hash module %s: %w", name, err)
		}
		fmt.Fprintf(h, "module %q %d\n%s\n%d\n%s\n", name, len(m.String()), m.String(), len(ann), ann)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Constants parses the generated code's folded constants, an array in
// Rego's syntax, into its elements.
func Constants(text string) []*ast.Term {
	arr := ast.MustParseTerm(text).Value.(*ast.Array)
	out := make([]*ast.Term, arr.Len())
	for i := range out {
		out[i] = arr.Elem(i)
	}
	return out
}
