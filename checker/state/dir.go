package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// dirStore keeps each key as a file under root; '/' in a key is a
// subdirectory. A key cannot also be a directory of other keys.
type dirStore struct {
	root string
}

// openDir opens path, creating it if missing. A path that cannot be made
// a directory is ErrLocation: the local disk does not heal by itself.
func openDir(path string) (*dirStore, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("open state dir %s: %w: %w", path, ErrLocation, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open state dir %s: %w: %w", path, ErrLocation, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open state dir %s: %w: not a directory", path, ErrLocation)
	}
	return &dirStore{root: path}, nil
}

func (d *dirStore) String() string { return "dir " + d.root }

func (d *dirStore) path(key string) string {
	return filepath.Join(d.root, filepath.FromSlash(key))
}

// missing reports errors that mean "no such file": a path component that
// is a file (ENOTDIR) is one.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func (d *dirStore) Get(_ context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	f, err := os.Open(d.path(key))
	if missing(err) {
		return nil, fmt.Errorf("get %s in %s: %w", key, d, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s in %s: %w", key, d, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("get %s in %s: %w", key, d, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("get %s in %s: %w", key, d, ErrNotFound)
	}
	if fi.Size() > MaxObject {
		return nil, fmt.Errorf("get %s in %s: %d bytes, over %d MiB: %w", key, d, fi.Size(), MaxObject>>20, ErrTooLarge)
	}
	// The file may grow after Stat: read one byte past the limit to tell.
	data, err := io.ReadAll(io.LimitReader(f, MaxObject+1))
	if err != nil {
		return nil, fmt.Errorf("get %s in %s: %w", key, d, err)
	}
	if len(data) > MaxObject {
		return nil, fmt.Errorf("get %s in %s: over %d MiB: %w", key, d, MaxObject>>20, ErrTooLarge)
	}
	return data, nil
}

// Create writes a temporary file in the key's directory, syncs it, then
// hard-links it to the key: link fails if the key exists, so the write is
// create-only and atomic, and no partial object is ever visible.
func (d *dirStore) Create(_ context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	p := d.path(key)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s in %s: %w", key, d, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("create %s in %s: %w", key, d, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create %s in %s: write temporary file: %w", key, d, err)
	}
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if fi, serr := os.Lstat(p); serr == nil && fi.IsDir() {
				return fmt.Errorf("create %s in %s: the key is a directory of other keys", key, d)
			}
			return fmt.Errorf("create %s in %s: %w", key, d, ErrExists)
		}
		return fmt.Errorf("create %s in %s: %w", key, d, err)
	}
	// The object is visible now: a failed directory sync must not turn
	// into an error, or the caller would retry and meet its own write as
	// ErrExists. It only weakens durability across a power cut.
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		f.Close()
	}
	return nil
}

func (d *dirStore) List(_ context.Context, prefix string) ([]string, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	// Walk only the directory the prefix's complete segments name.
	start := d.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = d.path(prefix[:i])
	}
	if fi, err := os.Stat(start); missing(err) || (err == nil && !fi.IsDir()) {
		return nil, nil
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if missing(err) { // deleted while walking
				return nil
			}
			return err
		}
		if p == start {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(e.Name(), ".") { // temporary files
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			if dk := key + "/"; !strings.HasPrefix(dk, prefix) && !strings.HasPrefix(prefix, dk) {
				return filepath.SkipDir
			}
			return nil
		}
		if e.Type().IsRegular() && strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, d, err)
	}
	slices.Sort(keys) // walk order puts "a/b" before "a-c"
	return keys, nil
}

func (d *dirStore) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	p := d.path(key)
	fi, err := os.Lstat(p)
	if missing(err) || (err == nil && fi.IsDir()) {
		return nil
	}
	if err == nil {
		err = os.Remove(p)
	}
	if err != nil && !missing(err) {
		return fmt.Errorf("delete %s in %s: %w", key, d, err)
	}
	return nil
}
