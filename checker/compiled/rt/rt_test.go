package rt

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// opa calls OPA's own implementation of a built-in, as the interpreter
// does: the reference every function here is held to.
func opa(name string, args ...*ast.Term) (*ast.Term, error) {
	fn := topdown.GetBuiltin(name)
	if fn == nil {
		return nil, fmt.Errorf("OPA has no built-in %s", name)
	}
	var out *ast.Term
	err := fn(topdown.BuiltinContext{Context: context.Background()}, args, func(t *ast.Term) error { out = t; return nil })
	return out, err
}

// pool is the arguments every built-in is tried on, in every combination:
// each kind of value, odd case, nesting, and the values the policies see.
func pool() []*ast.Term {
	return []*ast.Term{
		ast.StringTerm(""),
		ast.StringTerm("aes256"),
		ast.StringTerm("AES256"),
		ast.StringTerm("Ünïcode ß"),
		ast.StringTerm("%s-%s"),
		ast.StringTerm("%d %v"),
		ast.IntNumberTerm(0),
		ast.IntNumberTerm(16),
		ast.NumberTerm("1e14"),
		ast.NumberTerm("2.5"),
		ast.BooleanTerm(true),
		ast.BooleanTerm(false),
		ast.NullTerm(),
		ast.ArrayTerm(),
		ast.ArrayTerm(ast.StringTerm("a"), ast.StringTerm("b")),
		ast.ArrayTerm(ast.StringTerm("x"), ast.IntNumberTerm(1)),
		ast.ArrayTerm(ast.StringTerm("IkeConfig"), ast.StringTerm("IkeEncAlg")),
		ast.SetTerm(),
		ast.SetTerm(ast.StringTerm("aes256"), ast.StringTerm("des")),
		ast.ObjectTerm(),
		ast.MustParseTerm(`{"a": 1, "b": {"c": 2, "d": [1, 2]}}`),
		ast.MustParseTerm(`{"a": 2, "b": {"c": 3, "e": true}, "f": "new"}`),
		ast.MustParseTerm(`{"IkeConfig": {"IkeEncAlg": "des", "IkeAuthAlg": "md5"}}`),
		ast.MustParseTerm(`{"b": "not an object"}`),
	}
}

// combinations calls f with every tuple of n arguments from p.
func combinations(p []*ast.Term, n int, f func([]*ast.Term)) {
	args := make([]*ast.Term, n)
	var rec func(int)
	rec = func(i int) {
		if i == n {
			f(args)
			return
		}
		for _, t := range p {
			args[i] = t
			rec(i + 1)
		}
	}
	rec(0)
}

// same reports how got differs from OPA's result on the same arguments:
// both fail, or both give equal values.
func same(got *ast.Term, gotErr error, want *ast.Term, wantErr error) string {
	switch {
	case gotErr != nil && wantErr != nil:
		return ""
	case gotErr != nil:
		return fmt.Sprintf("failed (%v); OPA gives %v", gotErr, want)
	case wantErr != nil:
		return fmt.Sprintf("gave %v; OPA fails (%v)", got, wantErr)
	case got == nil || want == nil:
		if got == want {
			return ""
		}
		return fmt.Sprintf("gave %v; OPA gives %v", got, want)
	case !got.Equal(want):
		return fmt.Sprintf("gave %v; OPA gives %v", got, want)
	}
	return ""
}

// TestBuiltinsMatchOPA holds every built-in the runtime implements to
// OPA's own implementation, on every combination of the pool's values:
// the same value, or an error on both sides.
func TestBuiltinsMatchOPA(t *testing.T) {
	impl := map[string]func(args []*ast.Term) (*ast.Term, error){
		"concat":            func(a []*ast.Term) (*ast.Term, error) { return Concat(a[0], a[1]) },
		"count":             func(a []*ast.Term) (*ast.Term, error) { return Count(a[0]) },
		"gt":                func(a []*ast.Term) (*ast.Term, error) { return GT(a[0], a[1]) },
		"lt":                func(a []*ast.Term) (*ast.Term, error) { return LT(a[0], a[1]) },
		"gte":               func(a []*ast.Term) (*ast.Term, error) { return GTE(a[0], a[1]) },
		"lte":               func(a []*ast.Term) (*ast.Term, error) { return LTE(a[0], a[1]) },
		"neq":               func(a []*ast.Term) (*ast.Term, error) { return NEQ(a[0], a[1]) },
		"equal":             func(a []*ast.Term) (*ast.Term, error) { return Equal(a[0], a[1]) },
		"internal.member_2": func(a []*ast.Term) (*ast.Term, error) { return Member2(a[0], a[1]) },
		"is_string":         func(a []*ast.Term) (*ast.Term, error) { return IsString(a[0]) },
		"is_object":         func(a []*ast.Term) (*ast.Term, error) { return IsObject(a[0]) },
		"is_array":          func(a []*ast.Term) (*ast.Term, error) { return IsArray(a[0]) },
		"is_set":            func(a []*ast.Term) (*ast.Term, error) { return IsSet(a[0]) },
		"is_number":         func(a []*ast.Term) (*ast.Term, error) { return IsNumber(a[0]) },
		"is_boolean":        func(a []*ast.Term) (*ast.Term, error) { return IsBoolean(a[0]) },
		"is_null":           func(a []*ast.Term) (*ast.Term, error) { return IsNull(a[0]) },
		"lower":             func(a []*ast.Term) (*ast.Term, error) { return Lower(a[0]) },
		"object.get":        func(a []*ast.Term) (*ast.Term, error) { return ObjectGet(a[0], a[1], a[2]) },
		"object.union":      func(a []*ast.Term) (*ast.Term, error) { return ObjectUnion(a[0], a[1]) },
		"sort":              func(a []*ast.Term) (*ast.Term, error) { return Sort(a[0]) },
		"sprintf":           func(a []*ast.Term) (*ast.Term, error) { return Sprintf(a[0], a[1]) },
	}
	for name := range Builtins {
		if impl[name] == nil {
			t.Errorf("Builtins names %s, which this test does not cover", name)
		}
	}
	p := pool()
	for name, f := range impl {
		t.Run(name, func(t *testing.T) {
			decl, ok := ast.BuiltinMap[name]
			if !ok {
				t.Fatalf("OPA declares no built-in %s", name)
			}
			arity := decl.Decl.Arity()
			tried, failures := 0, 0
			combinations(p, arity, func(args []*ast.Term) {
				tried++
				got, gotErr := f(args)
				want, wantErr := opa(name, args...)
				if diff := same(got, gotErr, want, wantErr); diff != "" {
					if failures++; failures <= 5 {
						t.Errorf("%s%v %s", name, args, diff)
					}
				}
			})
			if tried < len(p) {
				t.Fatalf("tried %d argument lists", tried)
			}
		})
	}
}

// TestObjectUnionRightWins pins the rule a team's data relies on: in
// object.union the right-hand value wins at every depth, and objects
// merge. (A runtime where the left side won would pass every policy test
// that uses only the built-in data.)
func TestObjectUnionRightWins(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{`{"psk": {"min_length": 16}}`, `{"psk": {"min_length": 20}}`, `{"psk": {"min_length": 20}}`},
		{`{"psk": {"min_length": 16, "banned": ["a"]}}`, `{"psk": {"banned": ["b"]}}`, `{"psk": {"min_length": 16, "banned": ["b"]}}`},
		{`{"a": {"b": 1}}`, `{"a": 2}`, `{"a": 2}`},
		{`{"a": 1}`, `{}`, `{"a": 1}`},
		{`{}`, `{"a": 1}`, `{"a": 1}`},
	}
	for _, tt := range tests {
		got, err := ObjectUnion(ast.MustParseTerm(tt.a), ast.MustParseTerm(tt.b))
		if err != nil {
			t.Fatal(err)
		}
		want, err := opa("object.union", ast.MustParseTerm(tt.a), ast.MustParseTerm(tt.b))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(ast.MustParseTerm(tt.want)) || !want.Equal(ast.MustParseTerm(tt.want)) {
			t.Errorf("object.union(%s, %s) = %v, OPA %v; want %s", tt.a, tt.b, got, want, tt.want)
		}
	}
}

// TestArgumentFormsMatchOPA holds the generator's shortcuts, which take
// object.get's path and sprintf's arguments without an array, to the
// built-ins they stand for.
func TestArgumentFormsMatchOPA(t *testing.T) {
	p := pool()
	combinations(p, 2, func(ab []*ast.Term) {
		for n := 0; n <= 2; n++ {
			combinations(p[:8], n, func(path []*ast.Term) {
				got, gotErr := ObjectGetPath(ab[0], ab[1], path...)
				want, wantErr := opa("object.get", ab[0], ast.ArrayTerm(path...), ab[1])
				if diff := same(got, gotErr, want, wantErr); diff != "" {
					t.Fatalf("ObjectGetPath(%v, %v, %v) %s", ab[0], ab[1], path, diff)
				}
			})
		}
	})
	for _, f := range p {
		for n := 0; n <= 2; n++ {
			combinations(p, n, func(args []*ast.Term) {
				got, gotErr := SprintfArgs(f, args...)
				want, wantErr := opa("sprintf", f, ast.ArrayTerm(args...))
				if diff := same(got, gotErr, want, wantErr); diff != "" {
					t.Fatalf("SprintfArgs(%v, %v) %s", f, args, diff)
				}
			})
		}
	}
}

// TestDot is the IR's lookup: objects by key, arrays by integer index,
// sets by member; undefined otherwise.
func TestDot(t *testing.T) {
	arr := ast.MustParseTerm(`["a", "b"]`)
	tests := []struct {
		source, key *ast.Term
		want        *ast.Term
	}{
		{ast.MustParseTerm(`{"a": 1}`), ast.StringTerm("a"), ast.IntNumberTerm(1)},
		{ast.MustParseTerm(`{"a": 1}`), ast.StringTerm("b"), nil},
		{arr, ast.IntNumberTerm(1), ast.StringTerm("b")},
		{arr, ast.IntNumberTerm(2), nil},
		{arr, ast.IntNumberTerm(-1), nil},
		{arr, ast.NumberTerm("0.5"), nil},
		{arr, ast.StringTerm("0"), nil},
		{ast.MustParseTerm(`{"x"}`), ast.StringTerm("x"), ast.StringTerm("x")},
		{ast.MustParseTerm(`{"x"}`), ast.StringTerm("y"), nil},
		{ast.StringTerm("abc"), ast.IntNumberTerm(0), nil},
		{ast.NullTerm(), ast.StringTerm("a"), nil},
	}
	for _, tt := range tests {
		got := Dot(tt.source, tt.key)
		if (got == nil) != (tt.want == nil) || (got != nil && !got.Equal(tt.want)) {
			t.Errorf("Dot(%v, %v) = %v, want %v", tt.source, tt.key, got, tt.want)
		}
	}
}

// TestIterAndLen: a walk visits what the IR's scan visits, and Len
// counts the same, failing on a scalar.
func TestIterAndLen(t *testing.T) {
	tests := []struct {
		t    string
		want []string // "key=value"
	}{
		{`["a", "b"]`, []string{`0="a"`, `1="b"`}},
		{`{"k": 1, "j": 2}`, []string{`"j"=2`, `"k"=1`}},
		{`{"m", "n"}`, []string{`"m"="m"`, `"n"="n"`}},
		{`[]`, nil},
		{`"scalar"`, nil},
	}
	for _, tt := range tests {
		term := ast.MustParseTerm(tt.t)
		var got []string
		for it := NewIter(term); it.Next(); {
			got = append(got, it.Key.String()+"="+it.Value.String())
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("walk of %s = %v, want %v", tt.t, got, tt.want)
		}
		n, err := Len(term)
		if _, scalar := term.Value.(ast.String); scalar {
			if err == nil {
				t.Errorf("Len(%s) = %v, want an error", tt.t, n)
			}
			continue
		}
		if err != nil || !n.Equal(ast.IntNumberTerm(len(tt.want))) {
			t.Errorf("Len(%s) = %v, %v; want %d", tt.t, n, err, len(tt.want))
		}
	}
}

// TestAssignOnce: a complete rule or object key may be set twice only to
// the same value; a different one is OPA's conflict error.
func TestAssignOnce(t *testing.T) {
	var target *ast.Term
	if err := Assign(&target, ast.StringTerm("a")); err != nil {
		t.Fatal(err)
	}
	if err := Assign(&target, ast.StringTerm("a")); err != nil {
		t.Errorf("the same value again: %v", err)
	}
	if err := Assign(&target, ast.StringTerm("b")); !errors.Is(err, ErrConflict) {
		t.Errorf("a different value: %v, want ErrConflict", err)
	}

	obj := ast.ObjectTerm()
	if err := InsertOnce(obj, ast.StringTerm("k"), ast.IntNumberTerm(1)); err != nil {
		t.Fatal(err)
	}
	if err := InsertOnce(obj, ast.StringTerm("k"), ast.IntNumberTerm(1)); err != nil {
		t.Errorf("the same value again: %v", err)
	}
	if err := InsertOnce(obj, ast.StringTerm("k"), ast.IntNumberTerm(2)); !errors.Is(err, ErrConflict) {
		t.Errorf("a different value: %v, want ErrConflict", err)
	}

	arr := ast.ArrayTerm()
	alias := arr
	Append(arr, ast.StringTerm("x"))
	if alias.Value.(*ast.Array).Len() != 1 {
		t.Errorf("Append is not seen through an alias: %v", alias)
	}
}

// TestBuiltinErrorsAreStrict: a built-in that fails reports a
// BuiltinError naming it, as strict evaluation does.
func TestBuiltinErrorsAreStrict(t *testing.T) {
	_, err := Lower(ast.IntNumberTerm(1))
	var be *BuiltinError
	if !errors.As(err, &be) || be.Name != "lower" {
		t.Errorf("lower(1): %v, want a BuiltinError naming lower", err)
	}
}
