package alipay

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// billDetailForTest writes a 业务明细 of n lines in the sandbox's layout
// (25 columns, IDs ending in a tab), UTF-8: payments, some refunds, some
// subjects and buyers in Chinese, some cells with odd spacing.
func billDetailForTest(n int, seed int64) string {
	rnd := rand.New(rand.NewSource(seed))
	var b strings.Builder
	b.WriteString("#支付宝业务明细查询\n#账号：[20880211096256330156]\n#起始日期：[2026年03月14日 00:00:00]   终止日期：[2026年03月15日 00:00:00]\n" +
		"#-----------------------------------------业务明细列表----------------------------------------\n" +
		"支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户," +
		"订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称," +
		"商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\n")
	subjects := []string{"商品", "咖啡 latte", "测试 order", "　全角空格　", "plain"}
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, cst)
	for i := range n {
		at := day.Add(time.Duration(rnd.Intn(86400)) * time.Second).Format(timeLayout)
		amount := int64(1 + rnd.Intn(2000000))
		kind, sign, req := "交易", "", ""
		if rnd.Intn(20) == 0 {
			kind, sign, req = "退款", "-", fmt.Sprintf("R%d", i)
		}
		yuan := fmt.Sprintf("%s%d.%02d", sign, amount/100, amount%100)
		fmt.Fprintf(&b, "2026031422001%015d\t,ORD%08d\t,%s\t,%s,%s,%s,S%02d\t,门店%d\t,op%d\t,T%03d\t,**客(159****%04d)\t,%s,%s,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,%s\t,-%d.%02d,0.00,%s\n",
			i, i, kind, subjects[rnd.Intn(len(subjects))], at, at, rnd.Intn(20), rnd.Intn(20), rnd.Intn(5), rnd.Intn(50),
			rnd.Intn(10000), yuan, yuan, req, amount/10000, amount%100, []string{"", "", "备注", " x "}[rnd.Intn(4)])
	}
	b.WriteString("#-----------------------------------------业务明细列表结束------------------------------------\n#交易合计：1笔\n")
	return b.String()
}

// BenchmarkParseBill parses a 100,000-line bill zipped in GBK, as Alipay
// serves it.
func BenchmarkParseBill(b *testing.B) {
	z, err := zipGBKForTest(map[string]string{"2088_20260314_业务明细.csv": billDetailForTest(100_000, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(z)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rows, err := ParseBill(z)
		if err != nil || len(rows) != 100_000 {
			b.Fatalf("%d rows, %v", len(rows), err)
		}
	}
}
