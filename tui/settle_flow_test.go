package tui_test

import (
	"context"
	"os"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// settleFromMenu opens 结算, checks the open batch and passes the
// supervisor password.
func (f *flow) settleFromMenu(batch string) {
	f.t.Helper()
	f.cardMenu("7")
	f.waitFor("当前批次", batch, "结算将本批次的总数上送银行并关闭本批次")
	f.key(tea.KeyEnter)
	f.waitFor("请输入主管密码", "演示模式主管密码：123456")
	f.keys(demo.SupervisorPassword)
	f.key(tea.KeyEnter)
}

// closedBatch returns the acquirer's record of the terminal's batch, or
// fails unless it is closed.
func closedBatch(t *testing.T, env *demo.Env, batch string) acquirer.BatchInfo {
	t.Helper()
	for _, b := range env.Bank.Host.Batches(env.TerminalID) {
		if b.Batch == batch {
			if b.State != "closed" {
				t.Fatalf("the acquirer's batch %s is %s", batch, b.State)
			}
			return b
		}
	}
	t.Fatalf("the acquirer has no settlement of batch %s: %+v", batch, env.Bank.Host.Batches())
	return acquirer.BatchInfo{}
}

// A sale and a void, then 结算 from the station: the acquirer's books
// show the batch closed with the station's totals, the slip prints them,
// the trace counter moves to the next batch, and the last settlement
// prints again from the settlement screen.
func TestSettleFlow(t *testing.T) {
	t.Parallel()
	f, env := soldAndBack(t)
	batch := env.Traces.Batch()
	f.settleFromMenu(batch)
	f.waitFor("结算成功", "对账平", "¥88.00", "按 Enter 打印结算单")
	f.key(tea.KeyEnter)
	f.waitFor("结算单已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")
	res, err := env.Server.SettleBatch(context.Background(), env.TerminalID, batch, "01", "01") // settled already: its settlement
	if err != nil {
		t.Fatal(err)
	}
	if env.Traces.Batch() != res.NextBatch || res.NextBatch == batch {
		t.Errorf("trace counter in batch %q after settling %s, want the next batch %s", env.Traces.Batch(), batch, res.NextBatch)
	}
	books := closedBatch(t, env, batch)
	if s := books.Settled; s.DebitCount != res.DebitCount || s.DebitAmount != res.DebitAmount || s.DebitAmount != 8800 ||
		s.CreditCount != res.CreditCount || s.CreditAmount != res.CreditAmount {
		t.Errorf("acquirer settled %+v, posserver says %+v", s, res)
	}
	printed := env.Printer.Printed()
	if len(printed) != 3 {
		t.Fatalf("printed %d, want 2 copies of the sale and the settlement slip", len(printed))
	}
	if !strings.HasSuffix(printed[2], "-settlement-"+batch+".txt") {
		t.Errorf("settlement slip saved as %s", printed[2])
	}
	slip, err := os.ReadFile(printed[2])
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"结算单(SETTLEMENT)", "批次号(BATCH NO.)", batch, res.NextBatch, "消费(SALE)", "88.00",
		"RMB 88.00", "对账平 BALANCED", "演示 DEMO"} {
		if !strings.Contains(string(slip), w) {
			t.Errorf("settlement slip lacks %q:\n%s", w, slip)
		}
	}
	if strings.Contains(string(slip), testCard(t, "1").PAN) || strings.Contains(string(slip), "621234") {
		t.Errorf("settlement slip holds a card number:\n%s", slip)
	}
	// The last settlement prints again from 结算, marked REPRINT.
	f.cardMenu("7")
	f.waitFor("当前批次", res.NextBatch, "上次结算：批次 "+batch)
	f.keys("9")
	f.waitFor("结算单已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")
	f.finish()
	if p := env.Printer.Printed(); len(p) != 4 {
		t.Fatalf("printed %d, want the settlement slip again", len(p))
	} else if b, _ := os.ReadFile(p[3]); !strings.Contains(string(b), "重打印 REPRINT") || !strings.Contains(string(b), batch) {
		t.Fatalf("reprinted slip:\n%s", b)
	}
}

// A wrong supervisor password settles nothing.
func TestSettleWrongPassword(t *testing.T) {
	t.Parallel()
	f, env := soldAndBack(t)
	batch := env.Traces.Batch()
	f.cardMenu("7")
	f.waitFor("当前批次", batch)
	f.key(tea.KeyEnter)
	f.waitFor("请输入主管密码")
	f.keys("999999")
	f.key(tea.KeyEnter)
	f.waitFor("主管密码错误，还可尝试 2 次")
	f.key(tea.KeyEsc)
	f.waitFor("当前批次", batch)
	f.key(tea.KeyEsc)
	f.waitFor("主菜单")
	f.finish()
	if b := env.Bank.Host.Batches(env.TerminalID); len(b) != 0 {
		t.Fatalf("the acquirer settled %+v", b)
	}
	if env.Traces.Batch() != batch {
		t.Fatalf("batch moved to %s", env.Traces.Batch())
	}
}

// The batch on screen is settled at the cut-off before the supervisor
// agrees: the station says so and shows and prints that settlement.
func TestSettleAfterCutoff(t *testing.T) {
	t.Parallel()
	f, env := soldAndBack(t)
	batch := env.Traces.Batch()
	f.cardMenu("7")
	f.waitFor("当前批次", batch)
	if _, err := env.Server.SettleBatch(context.Background(), env.TerminalID, batch, "", api.SettledByCutoff); err != nil {
		t.Fatal(err)
	}
	f.key(tea.KeyEnter)
	f.waitFor("请输入主管密码")
	f.keys(demo.SupervisorPassword)
	f.key(tea.KeyEnter)
	f.waitFor("已在日切时自动结算", "¥88.00")
	f.key(tea.KeyEnter)
	f.waitFor("结算单已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")
	f.finish()
	p := env.Printer.Printed()
	b, err := os.ReadFile(p[len(p)-1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "结算人(SETTLED BY)") || !strings.Contains(string(b), "日切(CUT-OFF)") {
		t.Fatalf("cut-off slip:\n%s", b)
	}
	closedBatch(t, env, batch)
}
