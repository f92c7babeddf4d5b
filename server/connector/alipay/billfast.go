package alipay

import (
	"archive/zip"
	"bufio"
	"bytes"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/multipos/multipos/money"
)

// The fast reading of the 业务明细: streamed from the zip a line at a
// time, cells split in place, only the kept cells decoded (GBK leaves
// ASCII as it is, and neither ',' nor '\n' can be part of a GBK character,
// so decoding a cell alone gives what decoding the file would). Whatever
// it is unsure of — quotes, a line longer than its buffer, any error — it
// gives up and parseBillSlow reads the file the simple way, so that rows
// and errors stay exactly those of the simple reading.

// Text modes: which decoding the file turns out to need.
const (
	modeUnknown = iota // only ASCII so far: either reading gives the same
	modeUTF8           // valid UTF-8 so far; a line that is not means GBK
	modeRaw            // after a byte-order mark: as it is, unchecked
	modeGBK            // not valid UTF-8: GBK, as Alipay serves it
)

// maxIntern bounds the table of repeated cells (subjects, stores, buyers).
const maxIntern = 1 << 16

// sampleRows rows give the length of a line, to size the rest.
const sampleRows = 256

// pendRows rows' ids share a string.
const pendRows = 4096

// idEnds is where a pending row's trade_no and out_trade_no end in
// idText; later is false when the row has its ids already.
type idEnds struct {
	later    bool
	mid, end int
}

type fastBill struct {
	mode   int
	dec    *encoding.Decoder
	found  bool
	cols   [nAlipayCols]int
	cells  [][]byte
	intern map[string]string
	to     BillRows
	// Rows whose trade and out_trade_no wait in idText, to be made
	// substrings of one string per pendRows rows (flushIDs): one string a
	// row is a million objects for the garbage collector to mark while
	// reconciliation grows the heap.
	pend   []BillRow
	ends   []idEnds
	idText []byte
	parsed int // rows read
	// The first rows, kept until they give the length of a line, to size
	// the rest: then to is Reset and given them.
	sample []BillRow
	sized  bool
	// For that: the file's size, bytes read, bytes before the first row.
	size, read, first int64
	// Day starts in CST by date, for times without time.ParseInLocation.
	dayKey  int32
	dayUnix int64
}

// parseBillFastTo is ParseBillTo when all goes well; false: to may have
// been given rows, and parseBillSlow is to read the bill again.
func parseBillFastTo(data []byte, to BillRows) bool {
	if !bytes.HasPrefix(data, []byte("PK")) {
		return readBillFast(bytes.NewReader(data), int64(len(data)), 0, to)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return false
	}
	f, _ := detailEntry(zr)
	if f == nil || f.UncompressedSize64 > maxBill {
		return false
	}
	rc, err := f.Open()
	if err != nil {
		return false
	}
	defer rc.Close()
	// Inflate on one core, read lines on the other: the pipe hands over a
	// chunk while the next is inflated.
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := io.CopyBuffer(pw, io.LimitReader(rc, maxBill+1), make([]byte, 256<<10))
		pw.CloseWithError(err)
	}()
	defer func() {
		pr.Close() // stops the copy if the lines were left unread
		<-done
	}()
	return readBillFast(pr, int64(f.UncompressedSize64), maxBill, to)
}

// readBillFast reads a detail file of about size bytes; more than limit
// (unless 0) is refused.
func readBillFast(r io.Reader, size, limit int64, to BillRows) bool {
	p := &fastBill{size: size, intern: map[string]string{}, cells: make([][]byte, 0, 32), dayKey: -1, to: to}
	br := bufio.NewReaderSize(r, 1<<20)
	lineNo := 0
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return false
		}
		if err != nil && err != io.EOF {
			return false // a damaged zip: the slow reading says how
		}
		if len(line) == 0 && err == io.EOF {
			break
		}
		p.read += int64(len(line))
		if limit > 0 && p.read > limit {
			return false
		}
		if lineNo == 0 {
			if rest, bom := bytes.CutPrefix(line, []byte("\xef\xbb\xbf")); bom {
				line, p.mode = rest, modeRaw
			}
		}
		lineNo++
		if !p.line(line, lineNo) {
			return false
		}
		if err == io.EOF {
			break
		}
	}
	if !p.found {
		return false
	}
	p.flushIDs()
	if !p.sized {
		p.flush()
	}
	return true
}

// flush gives to the rows kept so far, after sizing it from them.
func (p *fastBill) flush() {
	n := len(p.sample)
	if p.parsed > 0 && p.size > p.read {
		// A margin for longer lines later: growing would copy them all.
		per := (p.read - p.first) / int64(p.parsed)
		n = p.parsed + int((p.size-p.read)/max(per, 1))*11/10 + sampleRows
	}
	p.to.Reset(n)
	for i := range p.sample {
		p.to.Add(&p.sample[i])
	}
	p.sample, p.sized = nil, true
}

// line takes one line (with its '\n', if any); false: give up.
func (p *fastBill) line(line []byte, lineNo int) bool {
	lineLen := len(line)
	if !p.checkText(line) { // comments too: the whole file decides
		return false
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 || line[0] == '#' {
		return true // as encoding/csv skips them
	}
	if bytes.IndexByte(line, '"') >= 0 {
		return false // quoted cells: encoding/csv's rules
	}
	p.cells = p.cells[:0]
	for {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			p.cells = append(p.cells, line)
			break
		}
		p.cells = append(p.cells, line[:i])
		line = line[i+1:]
	}
	if !p.found {
		header := make([]string, len(p.cells))
		for i, c := range p.cells {
			header[i] = p.text(c)
		}
		p.cols, p.found = billCols(header)
		return p.found || lineNo <= 20
	}
	if p.blank() {
		return true
	}
	row, end, ok := p.row()
	if !ok {
		return false
	}
	if p.parsed == 0 {
		p.first = p.read - int64(lineLen)
	}
	p.parsed++
	p.pend, p.ends = append(p.pend, row), append(p.ends, end)
	if len(p.pend) == pendRows {
		p.flushIDs()
	}
	return true
}

// flushIDs gives the pending rows their ids and hands them on.
func (p *fastBill) flushIDs() {
	s, start := string(p.idText), 0
	for i := range p.pend {
		if e := p.ends[i]; e.later {
			p.pend[i].TradeNo, p.pend[i].OutTradeNo = s[start:e.mid], s[e.mid:e.end]
			start = e.end
		}
		p.emit(&p.pend[i])
	}
	p.pend, p.ends, p.idText = p.pend[:0], p.ends[:0], p.idText[:0]
}

// emit hands a row to to, or keeps it for sizing to first.
func (p *fastBill) emit(r *BillRow) {
	if p.sized {
		p.to.Add(r)
		return
	}
	p.sample = append(p.sample, *r)
	if len(p.sample) == sampleRows {
		p.flush()
	}
}

// checkText settles the file's encoding as lines come: the first line
// that is not ASCII decides, a later one that is not UTF-8 makes it GBK
// after all, which the cells read so far did not take into account.
func (p *fastBill) checkText(line []byte) bool {
	switch p.mode {
	case modeUnknown:
		if !isASCII(line) {
			p.mode = modeUTF8
			if !utf8.Valid(line) {
				p.mode, p.dec = modeGBK, simplifiedchinese.GBK.NewDecoder()
			}
		}
	case modeUTF8:
		return utf8.Valid(line)
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func trimASCII(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// text is a cell as the simple reading gives it: decoded and trimmed.
func (p *fastBill) text(b []byte) string {
	b = trimASCII(b)
	if isASCII(b) {
		return string(b)
	}
	if p.mode == modeGBK {
		d, err := p.dec.Bytes(b)
		if err != nil {
			return strings.TrimSpace(string(b))
		}
		return strings.TrimSpace(string(d))
	}
	return strings.TrimSpace(string(b))
}

// ids takes the row's trade_no and out_trade_no: ASCII ones (nearly all)
// into idText, for flushIDs, saying where; false when both are empty.
func (p *fastBill) ids(row *BillRow, a, b []byte) (idEnds, bool) {
	if !isASCII(a) || !isASCII(b) {
		row.TradeNo, row.OutTradeNo = p.text(a), p.text(b)
		return idEnds{}, row.TradeNo != "" || row.OutTradeNo != ""
	}
	p.idText = append(append(p.idText, a...), b...)
	return idEnds{later: true, mid: len(p.idText) - len(b), end: len(p.idText)}, len(a) > 0 || len(b) > 0
}

// shared is text for cells that repeat: one string for each value.
func (p *fastBill) shared(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := p.text(b)
	if len(p.intern) < maxIntern {
		p.intern[string(b)] = s
	}
	return s
}

func (p *fastBill) blank() bool {
	for _, c := range p.cells {
		if c = trimASCII(c); len(c) > 0 && (isASCII(c) || p.text(c) != "") {
			return false
		}
	}
	return true
}

func (p *fastBill) cell(c int) []byte {
	if i := p.cols[c]; i >= 0 && i < len(p.cells) {
		return p.cells[i]
	}
	return nil
}

// row reads a line as billRow does, with where its ids wait (ids); false
// for any line billRow refuses.
func (p *fastBill) row() (BillRow, idEnds, bool) {
	row := BillRow{
		Subject: p.shared(p.cell(aSubject)), StoreID: p.shared(p.cell(aStore)),
		OperatorID: p.shared(p.cell(aOperator)), TerminalID: p.shared(p.cell(aTerminal)),
		Buyer: p.shared(p.cell(aBuyer)), OutRequestNo: p.text(p.cell(aRequestNo)),
		Remark: p.shared(p.cell(aRemark)), Created: p.time(p.cell(aCreated)), Finished: p.time(p.cell(aFinished))}
	ends, ok := p.ids(&row, trimASCII(p.cell(aTradeNo)), trimASCII(p.cell(aOutTradeNo)))
	if !ok {
		return row, ends, false
	}
	switch p.shared(p.cell(aKind)) {
	case "交易", "支付":
	case "退款":
		row.Refund = true
	default:
		return row, ends, false
	}
	if row.Amount, ok = p.fen(p.cell(aAmount)); !ok {
		return row, ends, false
	}
	row.Received = row.Amount
	if p.cols[aReceived] >= 0 {
		if row.Received, ok = p.fen(p.cell(aReceived)); !ok {
			return row, ends, false
		}
	}
	if row.Fee, ok = p.fen(p.cell(aFee)); !ok {
		return row, ends, false
	}
	return row, ends, true
}

// fen is signedFen of the cell's text, without strings for the usual
// "-123.45".
func (p *fastBill) fen(b []byte) (int64, bool) {
	cell := b
	b = trimASCII(b)
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var v int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + int64(b[i]-'0')
	}
	whole, frac := i, 0
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			v = v*10 + int64(b[i]-'0')
			frac++
		}
	}
	if i != len(b) || whole == 0 || whole > 12 || frac == 0 && len(b) > whole || frac > 2 || len(b) == 0 {
		// Empty, or anything unusual: the simple way.
		f, err := signedFen(p.text(cell))
		return f, err == nil
	}
	for ; frac < 2; frac++ {
		v *= 10
	}
	if v > int64(money.Max) {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// time is parseTime of the cell's text; "2006-01-02 15:04:05" in range is
// read here, with the day's start cached, anything else by parseTime.
func (p *fastBill) time(b []byte) time.Time {
	b = trimASCII(b)
	var d [14]int32
	if len(b) != len(timeLayout) {
		return parseTime(p.text(b))
	}
	j := 0
	for i, c := range b {
		switch i {
		case 4, 7:
			if c != '-' {
				return parseTime(p.text(b))
			}
		case 10:
			if c != ' ' {
				return parseTime(p.text(b))
			}
		case 13, 16:
			if c != ':' {
				return parseTime(p.text(b))
			}
		default:
			if c < '0' || c > '9' {
				return parseTime(p.text(b))
			}
			d[j] = int32(c - '0')
			j++
		}
	}
	year := d[0]*1000 + d[1]*100 + d[2]*10 + d[3]
	month, day := d[4]*10+d[5], d[6]*10+d[7]
	hour, minute, sec := d[8]*10+d[9], d[10]*10+d[11], d[12]*10+d[13]
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return parseTime(p.text(b)) // the zero time, as it says
	}
	if key := year*10000 + month*100 + day; key != p.dayKey {
		p.dayKey, p.dayUnix = key, time.Date(int(year), time.Month(month), int(day), 0, 0, 0, 0, cst).Unix()
	}
	return time.Unix(p.dayUnix+int64(hour)*3600+int64(minute)*60+int64(sec), 0).In(cst)
}

func daysIn(month, year int32) int32 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
