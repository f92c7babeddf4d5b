package tui

import "github.com/charmbracelet/lipgloss"

// Styles is the station's one set of styles, built from a renderer so that
// tests (Ascii profile) and real terminals get the same layout.
type Styles struct {
	Header     lipgloss.Style
	HeaderDim  lipgloss.Style
	Demo       lipgloss.Style
	Title      lipgloss.Style
	Subtle     lipgloss.Style
	Item       lipgloss.Style
	ItemNum    lipgloss.Style
	Selected   lipgloss.Style
	Disabled   lipgloss.Style
	Amount     lipgloss.Style
	Good       lipgloss.Style
	Bad        lipgloss.Style
	Warn       lipgloss.Style
	Hint       lipgloss.Style
	Box        lipgloss.Style
	QR         lipgloss.Style
	Receipt    lipgloss.Style
	Status     lipgloss.Style
	StatusOK   lipgloss.Style
	StatusBad  lipgloss.Style
	HelpKey    lipgloss.Style
	HelpDesc   lipgloss.Style
	HelpSep    lipgloss.Style
	PINMask    lipgloss.Style
	SectionGap int
}

// DefaultStyles builds the styles for renderer r.
func DefaultStyles(r *lipgloss.Renderer) Styles {
	blue := lipgloss.Color("25")
	return Styles{
		Header:    r.NewStyle().Bold(true).Foreground(lipgloss.Color("231")).Background(blue),
		HeaderDim: r.NewStyle().Foreground(lipgloss.Color("153")).Background(blue),
		Demo:      r.NewStyle().Bold(true).Foreground(lipgloss.Color("16")).Background(lipgloss.Color("220")),
		Title:     r.NewStyle().Bold(true),
		Subtle:    r.NewStyle().Foreground(lipgloss.Color("245")),
		Item:      r.NewStyle(),
		ItemNum:   r.NewStyle().Bold(true).Foreground(lipgloss.Color("39")),
		Selected:  r.NewStyle().Bold(true).Foreground(lipgloss.Color("231")).Background(lipgloss.Color("24")),
		Disabled:  r.NewStyle().Foreground(lipgloss.Color("242")),
		Amount:    r.NewStyle().Bold(true).Foreground(lipgloss.Color("220")),
		Good:      r.NewStyle().Bold(true).Foreground(lipgloss.Color("42")),
		Bad:       r.NewStyle().Bold(true).Foreground(lipgloss.Color("203")),
		Warn:      r.NewStyle().Foreground(lipgloss.Color("214")),
		Hint:      r.NewStyle().Foreground(lipgloss.Color("214")),
		Box:       r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("240")).Padding(0, 1),
		// Half-block QR codes draw light modules in the foreground colour:
		// force light-on-dark so the code is never inverted on light themes.
		QR:        r.NewStyle().Foreground(lipgloss.Color("15")).Background(lipgloss.Color("0")),
		Receipt:   r.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(lipgloss.Color("240")),
		Status:    r.NewStyle().Foreground(lipgloss.Color("252")).Background(lipgloss.Color("236")),
		StatusOK:  r.NewStyle().Foreground(lipgloss.Color("42")).Background(lipgloss.Color("236")),
		StatusBad: r.NewStyle().Bold(true).Foreground(lipgloss.Color("203")).Background(lipgloss.Color("236")),
		HelpKey:   r.NewStyle().Bold(true).Foreground(lipgloss.Color("39")),
		HelpDesc:  r.NewStyle().Foreground(lipgloss.Color("250")),
		HelpSep:   r.NewStyle().Foreground(lipgloss.Color("240")),
		PINMask:   r.NewStyle().Bold(true),
	}
}
