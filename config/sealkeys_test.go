package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSealKeys(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"both", "[keys]\nseal_key_file = \"/mnt/keys/seal\"\nseal_key_env = \"MULTIPOS_SEAL_KEY\"\n",
			`posserver.toml:3: keys: set seal_key_file or seal_key_env, not both`},
		{"env name", "[keys]\nseal_key_env = \"3f9a1c…\"\n",
			`posserver.toml:2: keys.seal_key_env: "3f9a1c…" is not an environment variable name (letters, digits and '_', e.g. "MULTIPOS_SEAL_KEY"); the key itself never goes in this file`},
		{"misspelt", "[keys]\nseal_keyfile = \"x\"\n", `posserver.toml:2: unknown key "seal_keyfile" in [keys]; did you mean "seal_key_file"?`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, msg := load(t, "posserver.toml", c.text); msg != c.want {
				t.Errorf("got  %s\nwant %s", msg, c.want)
			}
		})
	}

	dir := t.TempDir()
	p := filepath.Join(dir, "posserver.toml")
	if err := os.WriteFile(p, []byte("[keys]\nseal_key_file = \"keys/seal\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadServer(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "keys", "seal"); s.Keys.SealKeyFile != want {
		t.Errorf("seal_key_file %q, want %q (beside the file)", s.Keys.SealKeyFile, want)
	}
	if d := DefaultServer(); d.Keys != (SealKeys{}) {
		t.Errorf("default keys %+v, want none", d.Keys)
	}
}
