package bank

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/multipos/multipos/money"
)

// The acquirer's daily settlement file (对账文件). Its layout is not
// standard: each acquirer has its own columns, names and encoding. We read
// it by header name, in Chinese or English, and keep what reconciliation
// needs; see the package doc for the names recognised.

// MaxSettlementFile bounds a settlement file, fetched or imported.
const MaxSettlementFile = 64 << 20

// ErrSettlementFileNotReady says the acquirer has not produced the day's
// file yet (404, or no such file in the drop folder): try again later.
var ErrSettlementFileNotReady = errors.New("bank: the settlement file is not ready yet")

// SettlementFileName is the file's name for a source template
// (settlement_files): {date} becomes the day as YYYYMMDD.
func SettlementFileName(source string, day time.Time) string {
	return strings.ReplaceAll(source, "{date}", day.Format("20060102"))
}

// CheckSettlementSource says what is wrong with a settlement_files value:
// an https URL (http only to a loopback host, for the sandbox) or a path,
// either with {date} in it.
func CheckSettlementSource(source string) error {
	if !strings.Contains(source, "{date}") {
		return fmt.Errorf("%q has no {date} (the day as YYYYMMDD), e.g. /srv/sftp/acquirer/settlement-{date}.csv", source)
	}
	if !strings.Contains(source, "://") {
		return nil
	}
	u, err := url.Parse(SettlementFileName(source, time.Now()))
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", source, err)
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("%q has no host", source)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q: only https (http only to localhost)", source)
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// FetchSettlementFile gets day's file from source (see
// CheckSettlementSource): a file in a folder the acquirer drops its files
// into (by SFTP, the usual delivery), or a download. client nil means
// http.DefaultClient. A file not there yet is ErrSettlementFileNotReady.
func FetchSettlementFile(ctx context.Context, client *http.Client, source string, day time.Time) ([]byte, error) {
	if err := CheckSettlementSource(source); err != nil {
		return nil, fmt.Errorf("bank settlement file: %w", err)
	}
	name := SettlementFileName(source, day)
	if !strings.Contains(source, "://") {
		return ImportSettlementFile(ctx, name)
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, name, nil)
	if err != nil {
		return nil, fmt.Errorf("bank settlement file: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bank settlement file %s: %w", day.Format("2006-01-02"), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxSettlementFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("bank settlement file %s: %w", day.Format("2006-01-02"), err)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("bank settlement file %s: %w", day.Format("2006-01-02"), ErrSettlementFileNotReady)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("bank settlement file %s: %s: %q", day.Format("2006-01-02"), resp.Status, body[:min(len(body), 200)])
	case len(body) > MaxSettlementFile:
		return nil, fmt.Errorf("bank settlement file %s: more than %d bytes", day.Format("2006-01-02"), MaxSettlementFile)
	}
	return body, nil
}

// ImportSettlementFile reads a settlement file from path: one a clerk
// downloaded by hand from the acquirer's merchant portal, or one dropped
// by SFTP. A missing file is ErrSettlementFileNotReady.
func ImportSettlementFile(ctx context.Context, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bank settlement file %s: %w", path, err)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("bank settlement file %s: %w", path, ErrSettlementFileNotReady)
	}
	if err != nil {
		return nil, fmt.Errorf("bank settlement file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSettlementFile+1))
	if err != nil {
		return nil, fmt.Errorf("bank settlement file %s: %w", path, err)
	}
	if len(b) > MaxSettlementFile {
		return nil, fmt.Errorf("bank settlement file %s: more than %d bytes", path, MaxSettlementFile)
	}
	return b, nil
}

// SaveSettlementFile keeps raw as dir/settlement-YYYYMMDD.csv, 0600 in a
// 0700 folder (it names card transactions), written whole or not at all.
// It returns the path.
func SaveSettlementFile(dir string, day time.Time, raw []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("bank settlement file: %w", err)
	}
	path := filepath.Join(dir, "settlement-"+day.Format("20060102")+".csv")
	tmp, err := os.CreateTemp(dir, ".settlement-*") // 0600
	if err != nil {
		return "", fmt.Errorf("bank settlement file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return "", fmt.Errorf("bank settlement file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("bank settlement file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("bank settlement file: %w", err)
	}
	return path, nil
}

// SettleRow is one transaction of a settlement file. Amounts are fen.
type SettleRow struct {
	Line       int    // 1-based line of the file it came from
	SettleDate string // 2006-01-02, "" when the file has no such column
	Merchant   string
	Terminal   string
	Batch      string
	Trace      string
	RRN        string
	AuthCode   string
	Type       string    // sale, void or refund
	At         time.Time // in China Standard Time; zero when absent
	Amount     int64     // positive
	Fee        int64     // what the acquirer charges; negative: given back
	Net        int64     // what it settles for the line; amount - fee for a sale, -amount - fee otherwise, when absent
	MaskedPAN  string    // masked here if the file carries a full number
	Result     string
	Status     string // how the batch was settled (balanced, uploaded, host_cut, …), as the file says
}

// ParseSettlementFile reads a settlement file: CSV (comma, or tab when the
// header has tabs), UTF-8 with or without a BOM or GBK/GB18030, CRLF or LF,
// with trailing separators; lines before the header (titles, merchant
// name) and summary lines after (合计, total) are skipped. Columns are found
// by header name in any order; terminal, trace (or RRN), type and amount
// are required. Amounts are yuan unless the header says fen (分).
func ParseSettlementFile(raw []byte) ([]SettleRow, error) {
	text, err := decodeText(raw)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	hdr, cols, err := findHeader(lines)
	if err != nil {
		return nil, err
	}
	var rows []SettleRow
	for i := hdr + 1; i < len(lines); i++ {
		fields, err := splitLine(lines[i], cols.sep)
		if err != nil {
			return nil, fmt.Errorf("settlement file line %d: %w", i+1, err)
		}
		if skipRow(fields) {
			continue
		}
		r, err := cols.row(fields)
		if err != nil {
			return nil, fmt.Errorf("settlement file line %d, %w", i+1, err)
		}
		r.Line = i + 1
		rows = append(rows, r)
	}
	return rows, nil
}

// decodeText returns raw as UTF-8: without its BOM, or decoded from GB18030
// (a superset of GBK) when it is not valid UTF-8.
func decodeText(raw []byte) (string, error) {
	raw = bytes.TrimPrefix(raw, []byte("\xEF\xBB\xBF"))
	if utf8.Valid(raw) {
		return string(raw), nil
	}
	b, err := simplifiedchinese.GB18030.NewDecoder().Bytes(raw)
	if err != nil {
		return "", fmt.Errorf("settlement file: neither UTF-8 nor GBK: %w", err)
	}
	return string(b), nil
}

func splitLine(line string, sep rune) ([]string, error) {
	if strings.TrimSpace(line) == "" {
		return nil, nil
	}
	r := csv.NewReader(strings.NewReader(line))
	r.Comma, r.LazyQuotes, r.FieldsPerRecord, r.TrimLeadingSpace = sep, true, -1, true
	f, err := r.Read()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for i := range f {
		// Some acquirers pad with spaces or prefix numbers with a tab or
		// quote so that spreadsheets keep their zeros.
		f[i] = strings.Trim(f[i], " \t'`=\"")
	}
	for len(f) > 0 && f[len(f)-1] == "" {
		f = f[:len(f)-1] // trailing separators
	}
	return f, nil
}

// skipRow says a line is not a transaction: blank, a comment or a summary.
func skipRow(f []string) bool {
	if len(f) == 0 {
		return true
	}
	first := strings.ToLower(f[0])
	for _, p := range []string{"#", "合计", "总计", "小计", "total", "sum", "汇总"} {
		if strings.HasPrefix(first, p) {
			return true
		}
	}
	return false
}

// parseAmount reads yuan ("12.34", "-0.09", "1,234.00") or, fen, an integer.
func parseAmount(s string, fen bool) (int64, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	var v int64
	if fen {
		n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
		if err != nil || n < 0 || n > int64(money.Max) {
			return 0, fmt.Errorf("%q is not an amount in fen", s)
		}
		v = n
	} else {
		f, err := money.Parse(s)
		if err != nil {
			return 0, err
		}
		v = int64(f)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// txnType reads the type column: sale, void or refund, in English or Chinese.
func txnType(s string) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.Contains(t, "撤销") || strings.Contains(t, "void") || t == "cancel":
		return "void", true
	case strings.Contains(t, "退") || strings.Contains(t, "refund") || t == "return":
		return "refund", true
	case strings.Contains(t, "消费") || t == "sale" || t == "purchase" || t == "pay" || t == "payment":
		return "sale", true
	}
	return "", false
}

var timeLayouts = []string{"2006-01-02 15:04:05", "2006/01/02 15:04:05", "20060102150405", "2006-01-02T15:04:05",
	"2006-01-02 15:04", "2006/1/2 15:04:05", "2006/1/2 15:04"}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(cstZone), nil
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, cstZone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (e.g. 2006-01-02 15:04:05)", s)
}

func parseDate(s string) (string, error) {
	for _, l := range []string{"20060102", "2006-01-02", "2006/01/02", "2006/1/2", "2006.01.02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	return "", fmt.Errorf("%q is not a date (e.g. 20060102)", s)
}

// cstZone is the zone acquirers in China write times in.
var cstZone = time.FixedZone("CST", 8*3600)
