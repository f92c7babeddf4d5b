package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWalletSections(t *testing.T) {
	s, err := parseServer("/etc/multipos/posserver.toml", `
notify_listen = "0.0.0.0:8080"
[alipay]
app_id = "2021000000000001"
private_key_file = "keys/alipay_app.pem"
alipay_public_key_file = "/abs/alipay_pub.pem"
notify_url = "https://pos.example.com/notify/alipay"
[wechat]
mch_id = "1900000001"
app_id = "wx0000000000000001"
serial_no = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
private_key_file = "keys/wx_merchant.pem"
apiv3_key_file = "keys/wx_apiv3.key"
public_key_id = "PUB_KEY_ID_0000000000000000000000000000000001"
public_key_file = "keys/wx_pub.pem"
notify_url = "https://pos.example.com/notify/wechat"
`)
	if err != nil {
		t.Fatal(err)
	}
	if s.Alipay.PrivateKeyFile != filepath.Join("/etc/multipos", "keys/alipay_app.pem") || s.Alipay.AlipayPublicKeyFile != "/abs/alipay_pub.pem" {
		t.Fatalf("alipay files not beside the config: %+v", s.Alipay)
	}
	if s.WeChat.APIv3KeyFile != "/etc/multipos/keys/wx_apiv3.key" || s.Alipay.Gateway != "" || s.WeChat.Endpoint != "" {
		t.Fatalf("wechat: %+v", s.WeChat)
	}
	if s2, err := parseServer("p.toml", ""); err != nil || s2.Alipay != nil || s2.WeChat != nil {
		t.Fatalf("no sections: %+v, %v", s2, err)
	}
}

func TestBankSection(t *testing.T) {
	s, err := parseServer("p.toml", "[bank]\naddr = \"acquirer.example.com:5000\"\ntimeout = \"20s\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if s.Bank == nil || s.Bank.Addr != "acquirer.example.com:5000" || s.Bank.Timeout != 20*time.Second {
		t.Fatalf("bank %+v", s.Bank)
	}
	if d := DefaultServer(); d.Bank != nil {
		t.Fatal("the default is no bank, not a configured one")
	}
}

// Demo mode is off unless the file says so; a value that is not a boolean
// is refused rather than read as either.
func TestDemoKey(t *testing.T) {
	if DefaultServer().Demo {
		t.Fatal("demo mode on by default")
	}
	s, err := parseServer("p.toml", "demo = true\n")
	if err != nil || !s.Demo {
		t.Fatalf("demo = true: %+v, %v", s.Demo, err)
	}
	if _, err := parseServer("p.toml", "demo = \"yes\"\n"); err == nil || !strings.Contains(err.Error(), "demo") {
		t.Fatalf("demo = \"yes\": %v", err)
	}
}

// The settlement file's source: a path beside the configuration file, or
// an https URL.
func TestBankSettlementFiles(t *testing.T) {
	s, err := parseServer("/etc/multipos/p.toml", "[bank]\naddr = \"b:5000\"\nsettlement_files = \"sftp/settlement-{date}.csv\"\n")
	if err != nil || s.Bank.SettlementFiles != "/etc/multipos/sftp/settlement-{date}.csv" {
		t.Fatalf("a relative path: %+v, %v", s.Bank, err)
	}
	for _, v := range []string{"https://acq.example/files/settlement-{date}.csv", "http://127.0.0.1:9/files/settlement-{date}.csv"} {
		s, err := parseServer("p.toml", "[bank]\naddr = \"b:5000\"\nsettlement_files = \""+v+"\"\n")
		if err != nil || s.Bank.SettlementFiles != v {
			t.Fatalf("%s: %+v, %v", v, s.Bank, err)
		}
	}
}

func TestWalletSectionsRefused(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"[alipay]\napp_id = \"1\"\n", "alipay.private_key_file: required"},
		{"[alipay]\napp_id = \"1\"\n", "notify_listen:"},
		{"notify_listen = \"x\"\n", "notify_listen: \"x\" is not host:port"},
		{"notify_listen = \":8080\"\n[wechat]\nendpoint = \"ftp://x\"\n", "wechat.endpoint: \"ftp://x\" is not an http(s) URL"},
		{"notify_listen = \":8080\"\n[wechat]\nmch_id = \"1\"\n", "wechat.apiv3_key_file: required"},
		{"[bank]\n", "bank.addr: \"\" is not host:port"},
		{"[bank]\naddr = \"bank.example.com\"\n", "bank.addr: \"bank.example.com\" is not host:port"},
		{"[bank]\naddr = \"b:5000\"\nbatch = \"000012\"\n", "bank.batch: no longer read from this file"},
		{"[bank]\naddr = \"b:5000\"\ntimeout = \"10m\"\n", "bank.timeout: 10m0s is out of range (1s to 2m)"},
		{"[bank]\naddr = \"b:5000\"\nsettlement_files = \"/srv/acq/file.csv\"\n", "bank.settlement_files: \"/srv/acq/file.csv\" has no {date}"},
		{"[bank]\naddr = \"b:5000\"\nsettlement_files = \"http://acq.example/{date}.csv\"\n", "bank.settlement_files: \"http://acq.example/{date}.csv\" is not an https URL"},
		{"[bank]\naddr = \"b:5000\"\nsettlement_files = \"ftp://acq.example/{date}.csv\"\n", "is not an https URL"},
	} {
		_, err := parseServer("p.toml", c.file)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.file, err, c.want)
		}
	}
}
