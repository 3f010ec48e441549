// Package config loads service configuration and resolves secret references.
//
// A secret reference looks like "secret://payments/db-password#v3". The
// SecretManager resolves it through a Backend (Vault, AWS Secrets Manager or,
// in tests, an in-memory map) and caches the value for a short TTL so a hot
// path does not hit the backend on every request.
package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// notes: 0

// ErrNotFound is returned when the backend has no such secret.
var ErrNotFound = errors.New("secret not found")

// Backend fetches one secret version.
type Backend interface {
	Fetch(ctx context.Context, path, version string) ([]byte, error)
}

// Ref is a parsed secret reference.
type Ref struct {
	Path    string
	Version string
}

// ParseRef parses "secret://PATH#VERSION"; the version is optional.
func ParseRef(s string) (Ref, error) {
	const scheme = "secret://"
	if !strings.HasPrefix(s, scheme) {
		return Ref{}, fmt.Errorf("not a secret reference: %q", s)
	}
	rest := strings.TrimPrefix(s, scheme)
	path, version, _ := strings.Cut(rest, "#")
	if path == "" {
		return Ref{}, fmt.Errorf("empty secret path in %q", s)
	}
	if version == "" {
		version = "latest"
	}
	return Ref{Path: path, Version: version}, nil
}

type cached struct {
	value   []byte
	fetched time.Time
}

// SecretManager resolves references with a TTL cache.
type SecretManager struct {
	backend Backend
	ttl     time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[Ref]cached
}

// NewSecretManager returns a manager that caches values for ttl.
func NewSecretManager(b Backend, ttl time.Duration) *SecretManager {
	return &SecretManager{backend: b, ttl: ttl, now: time.Now, cache: map[Ref]cached{}}
}

// Resolve returns the secret value for ref, from the cache when fresh.
func (m *SecretManager) Resolve(ctx context.Context, ref Ref) ([]byte, error) {
	m.mu.Lock()
	c, ok := m.cache[ref]
	m.mu.Unlock()
	if ok && m.now().Sub(c.fetched) < m.ttl {
		return c.value, nil
	}
	v, err := m.backend.Fetch(ctx, ref.Path, ref.Version)
	if err != nil {
		return nil, fmt.Errorf("resolve %s#%s: %w", ref.Path, ref.Version, err)
	}
	m.mu.Lock()
	m.cache[ref] = cached{value: v, fetched: m.now()}
	m.mu.Unlock()
	return v, nil
}

// Forget drops a cached value, e.g. after a rotation notice.
func (m *SecretManager) Forget(ref Ref) {
	m.mu.Lock()
	delete(m.cache, ref)
	m.mu.Unlock()
}
