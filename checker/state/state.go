// Package state keeps vpncheck's state between runs (open findings,
// delivery claims) in a small object store whose only write is create-only:
// a local directory, or an Alibaba Cloud OSS bucket. Writers coordinate by
// racing to create the same key; exactly one wins.
package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/aliyun/credentials-go/credentials"
)

var (
	// ErrNotFound is the answer to Get of a missing key.
	ErrNotFound = errors.New("state: key not found")
	// ErrExists is the answer to Create of a key that exists, the loser of
	// a race to create it included.
	ErrExists = errors.New("state: key exists")
	// ErrVersioned refuses an OSS bucket with versioning Enabled or
	// Suspended: OSS ignores create-only writes there.
	ErrVersioned = errors.New("state: OSS bucket has versioning")
	// ErrInvalidKey refuses a key or prefix that is absolute, has an empty,
	// "." or ".." segment, or a segment starting with "." (reserved for the
	// directory store's temporary files).
	ErrInvalidKey = errors.New("state: invalid key")
	// ErrTooLarge is the answer to Get of an object over MaxObject bytes:
	// it is not read.
	ErrTooLarge = errors.New("state: object too large")
	// ErrLocation refuses a location that can never hold a state: not a
	// directory or oss://bucket[/prefix], an invalid bucket name, a path
	// that is not a directory, an OSS location without a region, a bucket
	// that does not exist. It is the user's to fix, not a passing failure.
	ErrLocation = errors.New("state location")
)

// MaxObject bounds an object Get reads: a generation of 10,000
// connections' findings is a few MiB, so anything near this is not one of
// vpncheck's, and reading it whole would cost the function its memory.
const MaxObject = 64 << 20

// Store is a small object store whose only write is create-only.
type Store interface {
	// Get returns the object's content, ErrNotFound, or ErrTooLarge for an
	// object over MaxObject bytes (refused before its body is read).
	Get(ctx context.Context, key string) ([]byte, error)
	// Create stores a new object, or returns ErrExists if the key exists.
	Create(ctx context.Context, key string, data []byte) error
	// List returns every key that starts with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes the object; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store ("dir /path" or "oss://bucket/prefix"), never
	// a secret.
	String() string
}

// Options are what Open needs beyond the spec.
type Options struct {
	// Region is the OSS region, e.g. cn-hangzhou (required for oss://).
	Region string
	// Endpoint overrides the region's endpoint, e.g. "http://127.0.0.1:PORT"
	// for tests. An IP endpoint is addressed path-style.
	Endpoint string
	// Internal uses the region's internal endpoint (from Function Compute).
	Internal bool
	// Credential signs OSS requests (required for oss://).
	Credential credentials.Credential
}

// Open opens "oss://bucket/prefix" or a local directory path, which is
// created (mode 0700) if missing. A location that can never work is an
// error wrapping ErrLocation.
func Open(ctx context.Context, spec string, opt Options) (Store, error) {
	if err := CheckLocation(spec); err != nil {
		return nil, err
	}
	if strings.HasPrefix(spec, "oss://") {
		return openOSS(ctx, spec, opt)
	}
	return openDir(spec)
}

// CheckLocation checks spec without touching the network or creating
// anything: a directory path that is a directory or does not exist yet, or
// oss://bucket[/prefix] with a valid bucket name and prefix. Its errors
// wrap ErrLocation (or ErrInvalidKey for the prefix).
func CheckLocation(spec string) error {
	switch {
	case spec == "":
		return fmt.Errorf("open state store: %w: empty, want a directory or oss://bucket/prefix", ErrLocation)
	case strings.HasPrefix(spec, "oss://"):
		_, _, err := parseOSS(spec)
		return err
	case strings.Contains(spec, "://"):
		return fmt.Errorf("open state store %q: %w: unsupported scheme, want a directory or oss://bucket/prefix", spec, ErrLocation)
	}
	fi, err := os.Stat(spec)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("open state dir %s: %w: not a directory", spec, ErrLocation)
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("open state dir %s: %w: a parent is not a directory", spec, ErrLocation)
	}
	return nil
}

// checkKey accepts a key made of one or more '/'-separated segments, none
// empty, ".", ".." or starting with '.'.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, err)
		}
	}
	return nil
}

// checkPrefix accepts "" or a prefix whose complete segments (all but the
// part after the last '/') pass checkKey's rules.
func checkPrefix(prefix string) error {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		if prefix == ".." {
			return fmt.Errorf("%w %q: segment \"..\"", ErrInvalidKey, prefix)
		}
		return nil
	}
	if err := checkKey(prefix[:i]); err != nil {
		return fmt.Errorf("prefix %q: %w", prefix, err)
	}
	return nil
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return errors.New("empty segment")
	case seg == "." || seg == "..":
		return fmt.Errorf("segment %q", seg)
	case seg[0] == '.':
		return fmt.Errorf("segment %q starts with '.'", seg)
	case strings.ContainsRune(seg, 0):
		return errors.New("NUL byte")
	}
	return nil
}
