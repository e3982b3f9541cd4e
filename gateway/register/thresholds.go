package register

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cents is an amount of euros in cents, net of VAT (ohne Umsatzsteuer).
type Cents int64

// ParseEUR reads an amount such as "30000", "29999.99" or "29999,99"
// (no thousands separators, at most two decimals, not negative).
func ParseEUR(s string) (Cents, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "EUR"))
	whole, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if whole == "" || len(whole) > 13 || strings.Trim(whole, "0123456789") != "" ||
		(hasFrac && (frac == "" || len(frac) > 2 || strings.Trim(frac, "0123456789") != "")) {
		return 0, fmt.Errorf("%w: amount %q: give euros with at most two decimals, e.g. 29999.99", ErrInvalid, s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: amount %q: %w", ErrInvalid, s, err)
	}
	c := w * 100
	if hasFrac {
		f, _ := strconv.ParseInt((frac + "0")[:2], 10, 64)
		c += f
	}
	return Cents(c), nil
}

// String writes the amount as German readers expect it: "30.000,00 EUR".
func (c Cents) String() string {
	neg := c < 0
	if neg {
		c = -c
	}
	w := strconv.FormatInt(int64(c)/100, 10)
	var b strings.Builder
	for i, r := range w {
		if i > 0 && (len(w)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	s := fmt.Sprintf("%s,%02d EUR", b.String(), int64(c)%100)
	if neg {
		return "-" + s
	}
	return s
}

// AuthorityKind is the kind of contracting authority (Auftraggeber) the
// duty of §6 Abs. 1 WRegG distinguishes.
type AuthorityKind string

const (
	// KindPublic is a public contracting authority (öffentlicher
	// Auftraggeber) under §99 GWB: the 30,000 EUR threshold.
	KindPublic AuthorityKind = "public"
	// KindSector is a sector contracting authority (Sektorenauftraggeber)
	// under §100 Abs. 1 Nr. 1 GWB: the EU thresholds of §106 GWB.
	KindSector AuthorityKind = "sector"
	// KindConcession is a concession grantor (Konzessionsgeber) under §101
	// Abs. 1 Nr. 1 and 2 GWB: the EU threshold of §106 GWB.
	KindConcession AuthorityKind = "concession"
)

// ContractKind is the kind of contract, which selects the EU threshold.
type ContractKind string

const (
	ContractWorks    ContractKind = "works"    // Bauauftrag
	ContractSupplies ContractKind = "supplies" // Lieferauftrag
	ContractServices ContractKind = "services" // Dienstleistungsauftrag
	// ContractSocial is social and other specific services (Annex XVII of
	// Directive 2014/25/EU).
	ContractSocial ContractKind = "social"
)

// ParseAuthorityKind accepts public, sector or concession.
func ParseAuthorityKind(s string) (AuthorityKind, error) {
	switch k := AuthorityKind(s); k {
	case KindPublic, KindSector, KindConcession:
		return k, nil
	}
	return "", fmt.Errorf("%w: kind must be public, sector or concession, not %q", ErrInvalid, s)
}

// ParseContractKind accepts works, supplies, services or social; "" is
// services.
func ParseContractKind(s string) (ContractKind, error) {
	switch k := ContractKind(s); k {
	case "":
		return ContractServices, nil
	case ContractWorks, ContractSupplies, ContractServices, ContractSocial:
		return k, nil
	}
	return "", fmt.Errorf("%w: contract must be works, supplies, services or social, not %q", ErrInvalid, s)
}

// DutyStart is the first day of the duty to query (§6 WRegG): the register
// authority's announcement under §12 Abs. 2 WRegG made it apply from 1 June
// 2022.
var DutyStart = time.Date(2022, time.June, 1, 0, 0, 0, 0, berlin)

// PublicThreshold is the threshold of §6 Abs. 1 Satz 1 WRegG for a public
// contracting authority under §99 GWB: 30,000 EUR net.
const PublicThreshold Cents = 30_000_00

// euThresholds is one period of the EU thresholds (§106 Abs. 2 GWB) that
// §6 Abs. 1 Satz 2 WRegG refers to, from the first day it applies.
type euThresholds struct {
	From           time.Time
	SectorWorks    Cents // Directive 2014/25/EU, works
	SectorSupplies Cents // Directive 2014/25/EU, supplies and services
	SectorSocial   Cents // Directive 2014/25/EU Annex XVII
	Concession     Cents // Directive 2014/23/EU
	Source         string
}

// thresholdTable is the dated table of EU thresholds, newest last. A new
// period is a new row (the Commission revises them every two years, on 1
// January of even years; the BMWK announces them under §106 Abs. 3 GWB).
var thresholdTable = []euThresholds{
	// 2022–2023: the Commission's delegated regulations of November 2021
	// for 2014/25/EU and 2014/23/EU (the regulation numbers are not
	// repeated here: not verified).
	{From: day(2022, 1, 1), SectorWorks: 5_382_000_00, SectorSupplies: 431_000_00, SectorSocial: 1_000_000_00, Concession: 5_382_000_00,
		Source: "EU-Schwellenwerte 2022/2023 (RL 2014/25/EU, RL 2014/23/EU)"},
	// 2024–2025: Delegated Regulation (EU) 2023/2497 (concessions,
	// 2014/23/EU) and the utilities regulation of 15 November 2023
	// (2014/25/EU).
	{From: day(2024, 1, 1), SectorWorks: 5_538_000_00, SectorSupplies: 443_000_00, SectorSocial: 1_000_000_00, Concession: 5_538_000_00,
		Source: "EU-Schwellenwerte 2024/2025 (Delegierte VO (EU) 2023/2497; RL 2014/25/EU)"},
	// 2026–2027: Delegated Regulations (EU) 2025/2150 (utilities,
	// 2014/25/EU) and 2025/2151 (concessions, 2014/23/EU) of 22 October 2025.
	{From: day(2026, 1, 1), SectorWorks: 5_404_000_00, SectorSupplies: 432_000_00, SectorSocial: 1_000_000_00, Concession: 5_404_000_00,
		Source: "EU-Schwellenwerte 2026/2027 (Delegierte VO (EU) 2025/2150 und 2025/2151)"},
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, berlin) }

// Decision says whether a query is required for a procedure and why.
type Decision struct {
	Required bool `json:"required"`
	// Reason is the German sentence a clerk reads, with the legal source.
	Reason    string `json:"reason"`
	Threshold Cents  `json:"thresholdCents"`
	Source    string `json:"source"`
}

// Check decides whether §6 WRegG requires a query before the award of a
// contract with the estimated net value on date (German calendar day).
// Below the threshold a voluntary query stays allowed (§6 Abs. 2 WRegG).
func Check(value Cents, kind AuthorityKind, contract ContractKind, date time.Time) (Decision, error) {
	if value < 0 {
		return Decision{}, fmt.Errorf("%w: a negative value", ErrInvalid)
	}
	if _, err := ParseAuthorityKind(string(kind)); err != nil {
		return Decision{}, err
	}
	if contract == "" {
		contract = ContractServices
	}
	if _, err := ParseContractKind(string(contract)); err != nil {
		return Decision{}, err
	}
	date = date.In(berlin)
	if date.Before(DutyStart) {
		return Decision{Reason: "Keine Abfragepflicht: die Pflicht nach § 6 WRegG gilt erst seit dem 01.06.2022 (§ 12 Abs. 2 WRegG); eine freiwillige Abfrage ist möglich.",
			Source: "§ 12 Abs. 2 WRegG"}, nil
	}
	var d Decision
	who := ""
	switch kind {
	case KindPublic:
		d.Threshold, d.Source = PublicThreshold, "§ 6 Abs. 1 Satz 1 WRegG"
		who = "öffentlicher Auftraggeber nach § 99 GWB"
	default:
		row := thresholdTable[0]
		for _, r := range thresholdTable {
			if !date.Before(r.From) {
				row = r
			}
		}
		d.Source = "§ 6 Abs. 1 Satz 2 WRegG, § 106 GWB, " + row.Source
		switch {
		case kind == KindConcession:
			d.Threshold, who = row.Concession, "Konzessionsgeber nach § 101 Abs. 1 GWB"
		case contract == ContractWorks:
			d.Threshold, who = row.SectorWorks, "Sektorenauftraggeber nach § 100 Abs. 1 Nr. 1 GWB, Bauauftrag"
		case contract == ContractSocial:
			d.Threshold, who = row.SectorSocial, "Sektorenauftraggeber nach § 100 Abs. 1 Nr. 1 GWB, soziale und andere besondere Dienstleistungen"
		default:
			d.Threshold, who = row.SectorSupplies, "Sektorenauftraggeber nach § 100 Abs. 1 Nr. 1 GWB, Liefer- oder Dienstleistungsauftrag"
		}
	}
	d.Required = value >= d.Threshold
	if d.Required {
		d.Reason = fmt.Sprintf("Abfrage erforderlich: geschätzter Auftragswert %s netto erreicht den Schwellenwert %s (%s; %s).",
			value, d.Threshold, who, d.Source)
	} else {
		d.Reason = fmt.Sprintf("Keine Abfragepflicht: geschätzter Auftragswert %s netto liegt unter dem Schwellenwert %s (%s; %s); eine freiwillige Abfrage ist zulässig (§ 6 Abs. 2 WRegG).",
			value, d.Threshold, who, d.Source)
	}
	return d, nil
}
