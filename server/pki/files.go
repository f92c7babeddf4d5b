package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/multipos/multipos/internal/pemfile"
	"github.com/multipos/multipos/internal/privfile"
)

// tightenDir makes the authority's folder (0700) and tightens it and the
// private files in it when an older version or an operator left them open
// to group or others.
func tightenDir(dir string) error {
	if err := privfile.MkdirAll(dir, nil); err != nil {
		return err
	}
	for _, name := range privateFiles {
		if err := privfile.Tighten(filepath.Join(dir, name), nil); err != nil {
			return err
		}
	}
	return nil
}

// exists reports whether path exists; any error other than "does not
// exist" is returned so that an unreadable file is not mistaken for a
// missing one and regenerated over.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	c, err := pemfile.ParseCert(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// readKey reads a private key file, sealed under seal when there is one.
func readKey(path string, seal *SealKey) (*ecdsa.PrivateKey, error) {
	data, err := readPrivate(path, seal)
	if err != nil {
		return nil, err
	}
	k, err := pemfile.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
