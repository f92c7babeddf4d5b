package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/server/pki"
)

// Where a seal key is found when posserver.toml names none: systemd's
// LoadCredential=multipos-seal-key:… puts it in $CREDENTIALS_DIRECTORY,
// and a plain environment variable suits containers and Vault agents.
const (
	sealCredential = "multipos-seal-key"
	sealEnvDefault = "MULTIPOS_SEAL_KEY"
	// maxSealKeyFile bounds what is read from a key file, so that a
	// setting pointing at the wrong (large) file fails at once.
	maxSealKeyFile = 4 << 10
)

// sealKeyHelp is what an operator is told when posserver needs a seal key.
const sealKeyHelp = `give posserver the seal key in one of these ways (README, "Keys at rest"):
  [keys] seal_key_file = "/path/on/another/mount"   in posserver.toml
  [keys] seal_key_env = "VARIABLE"                  in posserver.toml, the key in that variable
  the systemd credential ` + sealCredential + ` (LoadCredential=` + sealCredential + `:/path)
  the variable ` + sealEnvDefault

// loadSealKey finds the seal key: the file or variable posserver.toml
// names (which must then be there), else the systemd credential, else
// $MULTIPOS_SEAL_KEY. No key anywhere is nil, "", nil: the keys are plain.
// from says where the key came from, for messages; never the key itself.
func loadSealKey(k config.SealKeys) (key *pki.SealKey, from string, err error) {
	var secret []byte
	switch {
	case k.SealKeyFile != "":
		from = "file " + k.SealKeyFile
		secret, err = readSealKeyFile(k.SealKeyFile)
	case k.SealKeyEnv != "":
		from = "environment variable " + k.SealKeyEnv
		if secret = []byte(os.Getenv(k.SealKeyEnv)); len(secret) == 0 {
			err = fmt.Errorf("environment variable %s is not set", k.SealKeyEnv)
		}
	default:
		cred := ""
		if d := os.Getenv("CREDENTIALS_DIRECTORY"); d != "" {
			cred = filepath.Join(d, sealCredential)
		}
		if _, serr := os.Stat(cred); cred != "" && serr == nil {
			from = "systemd credential " + sealCredential
			secret, err = readSealKeyFile(cred)
		} else if v := os.Getenv(sealEnvDefault); v != "" {
			from, secret = "environment variable "+sealEnvDefault, []byte(v)
		} else {
			return nil, "", nil
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("seal key: %w", err)
	}
	if key, err = pki.NewSealKey(secret); err != nil {
		return nil, "", fmt.Errorf("seal key from %s: %w", from, err)
	}
	return key, from, nil
}

func readSealKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
		slog.Warn("the seal key file is open to group or others; make it readable by posserver's user only",
			"file", path, "mode", fmt.Sprintf("%04o", st.Mode().Perm()))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSealKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxSealKeyFile {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a seal key", path, maxSealKeyFile)
	}
	return data, nil
}

// openAuthority opens the server's authority in pki_dir under the
// configured seal key, if any, and says what to do when the key is
// missing, wrong or not used yet. log, if not nil, is told the key in use.
func openAuthority(cfg config.Server, log *slog.Logger) (*pki.Authority, error) {
	key, from, err := loadSealKey(cfg.Keys)
	if err != nil {
		return nil, err
	}
	ca, err := pki.OpenSealed(cfg.PKIDir, cfg.Hosts, key)
	if err != nil {
		return nil, explainSealing(err, cfg.PKIDir, from)
	}
	if key != nil && log != nil {
		log.Info("private keys sealed", "pki_dir", cfg.PKIDir, "seal_key", key.ID(), "from", from)
	}
	return ca, nil
}

// explainSealing adds what to do to a sealing error from pki.
func explainSealing(err error, dir, from string) error {
	switch {
	case errors.Is(err, pki.ErrSealKeyNeeded):
		return fmt.Errorf("%w\nthe keys in %s are sealed; %s", err, dir, sealKeyHelp)
	case errors.Is(err, pki.ErrWrongSealKey):
		return fmt.Errorf("%w\nthe seal key from %s is not the one the keys in %s are sealed under: give that one "+
			"(after `posserver keys rotate`, the new one)", err, from, dir)
	case errors.Is(err, pki.ErrNotSealed):
		return fmt.Errorf("%w\na seal key is given (%s) but the keys in %s are not sealed yet: seal them with "+
			"`posserver keys seal`, or take the seal key away to keep them plain", err, from, dir)
	}
	return err
}

func keysCmd() *cobra.Command {
	return cmdline.Group(&cobra.Command{
		Use:   "keys",
		Short: "Seal, unseal or rotate the seal key of the server's private keys",
		Long: `keys manages the seal key the private keys in pki_dir (the server's CA and
TLS keys) are encrypted under at rest (README, "Keys at rest").
` + sealKeyHelp,
	}, keysStatusCmd(), keysSealCmd(true), keysSealCmd(false), keysRotateCmd(), keysGenerateCmd())
}

// configuredKey reads the configuration and loads the seal key, which must
// be there unless optional.
func configuredKey(c common, optional bool) (config.Server, *pki.SealKey, string, error) {
	cfg, err := c.load()
	if err != nil {
		return config.Server{}, nil, "", err
	}
	key, from, err := loadSealKey(cfg.Keys)
	if err == nil && key == nil && !optional {
		err = errors.New("no seal key is given; " + sealKeyHelp + "\n(`posserver keys generate --out FILE` makes one)")
	}
	return cfg, key, from, err
}

func keysStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Say whether the keys are sealed, and under which seal key",
		Args:  cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return keysStatus(c, cmd.OutOrStdout())
	}
	return cmd
}

func keysStatus(c common, stdout io.Writer) error {
	cfg, key, from, err := configuredKey(c, true)
	if err != nil {
		return err
	}
	files, err := pki.Sealing(cfg.PKIDir)
	if err != nil {
		return err
	}
	if key != nil {
		fmt.Fprintf(stdout, "seal key %s, from %s\n", key.ID(), from)
	} else {
		fmt.Fprintln(stdout, "no seal key given: keys are kept plain")
	}
	var fix string
	for _, f := range files {
		state := "missing (created at the next start)"
		switch {
		case f.Sealed && key == nil:
			state, fix = "sealed under seal key "+f.KeyID, sealKeyHelp
		case f.Sealed && f.KeyID != key.ID():
			state, fix = "sealed under seal key "+f.KeyID, "give posserver the seal key "+f.KeyID+" in place of "+key.ID()
		case f.Sealed:
			state = "sealed under seal key " + f.KeyID
		case f.Present && key != nil:
			state, fix = "plain", "seal the keys with `posserver keys seal`, or take the seal key away"
		case f.Present:
			state = "plain"
		}
		fmt.Fprintf(stdout, "%-40s %s\n", filepath.Join(cfg.PKIDir, f.Name), state)
	}
	if fix != "" {
		fmt.Fprintln(stdout, "posserver would refuse to start with these keys and this seal key; "+fix)
	}
	return nil
}

func keysSealCmd(seal bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   map[bool]string{true: "seal", false: "unseal"}[seal],
		Short: map[bool]string{true: "Seal the keys in pki_dir under the configured seal key", false: "Make the keys in pki_dir plain again"}[seal],
		Args:  cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return keysSeal(c, seal, cmd.OutOrStdout())
	}
	return cmd
}

// keysSeal seals the keys in pki_dir under the configured seal key, or
// unseals them.
func keysSeal(c common, seal bool, stdout io.Writer) error {
	verb := map[bool]string{true: "seal", false: "unseal"}[seal]
	cfg, key, from, err := configuredKey(c, false)
	if err != nil {
		return err
	}
	to := key
	if !seal {
		to = nil
	}
	done, err := pki.Reseal(cfg.PKIDir, key, to)
	if err != nil {
		return explainSealing(err, cfg.PKIDir, from)
	}
	switch {
	case len(done) == 0:
		fmt.Fprintf(stdout, "nothing to do: the keys in %s are already %sed\n", cfg.PKIDir, verb)
	case seal:
		fmt.Fprintf(stdout, "sealed %s in %s under seal key %s (from %s)\n", strings.Join(done, ", "), cfg.PKIDir, key.ID(), from)
		fmt.Fprintln(stdout, "keep a copy of the seal key apart from every backup of the folder: without it the keys are lost")
	default:
		fmt.Fprintf(stdout, "unsealed %s in %s: they are plain now\n", strings.Join(done, ", "), cfg.PKIDir)
		fmt.Fprintf(stdout, "take the seal key (%s) away from posserver's configuration, or it refuses to start\n", from)
	}
	return nil
}

func keysRotateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate (--new-key-file F | --new-key-env VAR)",
		Short: "Seal the keys under a new seal key instead of the configured one",
		Args:  cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	var next config.SealKeys
	cmd.Flags().StringVar(&next.SealKeyFile, "new-key-file", "", "the file holding the new seal key")
	cmd.Flags().StringVar(&next.SealKeyEnv, "new-key-env", "", "the environment variable holding the new seal key")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if (next.SealKeyFile == "") == (next.SealKeyEnv == "") {
			return cmdline.Usagef("keys rotate: give the new seal key with --new-key-file or --new-key-env (one of them)")
		}
		return keysRotate(c, next, cmd.OutOrStdout())
	}
	return cmd
}

// keysRotate reseals the keys from the configured seal key to newKey.
func keysRotate(c common, newKey config.SealKeys, stdout io.Writer) error {
	cfg, old, from, err := configuredKey(c, false)
	if err != nil {
		return err
	}
	next, nextFrom, err := loadSealKey(newKey)
	if err != nil {
		return fmt.Errorf("new %w", err)
	}
	if next.ID() == old.ID() {
		return fmt.Errorf("the new seal key (%s) is the one in use (%s)", nextFrom, from)
	}
	done, err := pki.Reseal(cfg.PKIDir, old, next)
	if err != nil {
		return explainSealing(err, cfg.PKIDir, from)
	}
	fmt.Fprintf(stdout, "%s in %s now sealed under seal key %s (from %s), no longer under %s\n",
		strings.Join(done, ", "), cfg.PKIDir, next.ID(), nextFrom, old.ID())
	fmt.Fprintln(stdout, "give posserver the new seal key in place of the old one before it next starts")
	return nil
}

func keysGenerateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Make a random seal key (printed, or written to a new file)",
		Args:  cmdline.Args(cobra.NoArgs),
	}
	out := cmd.Flags().String("out", "", "write the key to this new file (mode 0600) instead of printing it")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return keysGenerate(*out, cmd.OutOrStdout())
	}
	return cmd
}

// keysGenerate makes a random seal key: 32 bytes as 64 hex digits.
func keysGenerate(out string, stdout io.Writer) error {
	raw := make([]byte, 32)
	rand.Read(raw)
	text := hex.EncodeToString(raw) + "\n"
	key, err := pki.NewSealKey([]byte(text))
	if err != nil {
		return err
	}
	if out == "" {
		_, err := io.WriteString(stdout, text)
		return err
	}
	// Never over an existing file: it may be the only copy of a key that
	// keys are sealed under.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("seal key: %w", err)
	}
	_, werr := f.WriteString(text)
	if err := errors.Join(f.Chmod(0o600), werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("seal key %s: %w", out, err)
	}
	fmt.Fprintf(stdout, "seal key %s written to %s; keep it apart from pki_dir and its backups\n", key.ID(), out)
	return nil
}
