package xdomea

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/xsd"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Folders below the confirmations folder.
const (
	DoneDir   = "erledigt"
	FailedDir = "fehlerhaft"
)

// Journal kinds of an import confirmation.
const (
	EventFiled        = "filed"
	EventFilingRefuse = "filing_refused"
)

// MaxConfirmationBytes bounds one 0402 file.
const MaxConfirmationBytes = 1 << 20

// Confirmation is what an Abgabe.ImportBestaetigen.0402 says.
type Confirmation struct {
	ProzessID string
	// Message is the result for the whole Abgabe, where the version has
	// one (4.0.0); nil otherwise.
	Message *ObjectResult
	Objects []ObjectResult
}

// ObjectResult is the import result of one Schriftgutobjekt (or, as
// Confirmation.Message, of the whole Abgabe: ID "").
type ObjectResult struct {
	ID       string
	Success  bool
	Messages []string
}

// Filed reports whether the records system imported the Abgabe: the
// message-wide result, where there is one, and every object's result
// say so, and at least one of them is there.
func (c Confirmation) Filed() bool {
	if c.Message != nil && !c.Message.Success {
		return false
	}
	for _, o := range c.Objects {
		if !o.Success {
			return false
		}
	}
	return c.Message != nil || len(c.Objects) > 0
}

// ParseConfirmation validates a 0402 against the version's schema and
// reads it where the version's generation says its parts are.
func ParseConfirmation(version string, b []byte, lim xsd.Limits) (Confirmation, error) {
	g, err := lookup(version)
	if err != nil {
		return Confirmation{}, err
	}
	if err := Validate(version, b, lim); err != nil {
		return Confirmation{}, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return Confirmation{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	root := doc.Root()
	if root == nil || root.Tag != MessageImportBestaetig || root.NamespaceURI() != g.namespace {
		return Confirmation{}, fmt.Errorf("%w: not a %s of xdomea %s", ErrInvalid, MessageImportBestaetig, g.version)
	}
	var conf Confirmation
	if e := root.FindElement(g.confProzessID); e != nil {
		conf.ProzessID = strings.ToLower(strings.TrimSpace(e.Text()))
	}
	result := func(e *etree.Element, prefix string) ObjectResult {
		var r ObjectResult
		if s := e.FindElement(prefix + "Erfolgreich"); s != nil {
			v := strings.TrimSpace(s.Text())
			r.Success = v == "1" || v == "true"
		}
		for _, m := range e.FindElements(prefix + "Fehlermeldung") {
			r.Messages = append(r.Messages, m.Text())
		}
		return r
	}
	if g.confMessage != "" {
		if e := root.FindElement(g.confMessage); e != nil {
			r := result(e, "")
			conf.Message = &r
		}
	}
	for _, e := range root.SelectElements("AbgegebenesObjekt") {
		r := result(e, g.confResult)
		if id := e.FindElement(g.confObjectID); id != nil {
			r.ID = strings.TrimSpace(id.Text())
		}
		conf.Objects = append(conf.Objects, r)
	}
	if conf.ProzessID == "" {
		return Confirmation{}, fmt.Errorf("%w: %s without ProzessID", ErrInvalid, MessageImportBestaetig)
	}
	return conf, nil
}

// Confirmations reads the import confirmations a records system drops
// into Dir ({ProzessID}_Abgabe.ImportBestaetigen.0402.xml, any *.xml)
// and journals them on the messages of Intake's folder.
type Confirmations struct {
	Intake *Intake
	Dir    *os.Root // the confirmations folder
	Store  mailbox.Store
	Logger *zap.Logger
	Now    func() time.Time
}

// RunOnce handles every confirmation in the folder and returns how many
// it journaled.
func (c *Confirmations) RunOnce(ctx context.Context) (int, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	for _, d := range []string{DoneDir, FailedDir} {
		if err := c.Dir.MkdirAll(d, 0o750); err != nil {
			return 0, fmt.Errorf("xdomea: confirmations: %w", err)
		}
	}
	ents, err := readDir(c.Dir, ".")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(strings.ToLower(e.Name()), ".xml") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		ok, err := c.one(ctx, e.Name())
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// one handles one file; an error is the store's or the disk's (the file
// stays and is tried again), a bad confirmation goes to fehlerhaft/.
func (c *Confirmations) one(ctx context.Context, name string) (bool, error) {
	b, err := c.read(name)
	if err != nil {
		return false, err
	}
	conf, err := ParseConfirmation(c.Intake.opt.Version, b, c.Intake.opt.Limits)
	var m mailbox.Message
	if err == nil {
		m, err = c.message(ctx, conf.ProzessID)
	}
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnknown) {
		c.Logger.Warn("xdomea import confirmation refused", zap.String("file", name), zap.Error(err))
		return false, c.move(name, FailedDir)
	}
	if err != nil {
		return false, err
	}
	kind := EventFiled
	if !conf.Filed() {
		kind = EventFilingRefuse
	}
	journaled, err := c.journaled(ctx, m.ID, conf.ProzessID, name)
	if err != nil {
		return false, err
	}
	if !journaled {
		detail := map[string]string{"prozessId": conf.ProzessID, "file": name, "objects": strconv.Itoa(len(conf.Objects))}
		var msgs []string
		if conf.Message != nil {
			msgs = append(msgs, conf.Message.Messages...)
		}
		for _, o := range conf.Objects {
			msgs = append(msgs, o.Messages...)
		}
		if len(msgs) > 0 {
			detail["errors"] = limit(strings.Join(msgs, "; "), 1000)
		}
		if _, err := c.Store.Append(ctx, mailbox.EventInput{At: c.Now().UTC(), MessageID: m.ID, Kind: kind, Detail: detail}); err != nil {
			return false, err
		}
		log := c.Logger.Info
		if kind == EventFilingRefuse {
			log = c.Logger.Warn
		}
		log("xdomea import confirmation", zap.Int64("messageId", m.ID), zap.String("mailbox", m.Mailbox), zap.String("prozessId", conf.ProzessID), zap.String("result", kind))
	}
	return !journaled, c.move(name, DoneDir)
}

func (c *Confirmations) read(name string) ([]byte, error) {
	f, err := c.Dir.Open(name)
	if err != nil {
		return nil, fmt.Errorf("xdomea: confirmation %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfirmationBytes+1))
	if err != nil {
		return nil, fmt.Errorf("xdomea: confirmation %s: %w", name, err)
	}
	if len(b) > MaxConfirmationBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalid, name, MaxConfirmationBytes)
	}
	return b, nil
}

// message finds the message an Abgabe was written for by the index.
func (c *Confirmations) message(ctx context.Context, prozessID string) (mailbox.Message, error) {
	b, err := c.Intake.root.ReadFile(IndexDir + "/" + prozessID + ".json")
	if errors.Is(err, os.ErrNotExist) || strings.ContainsAny(prozessID, "/\\") {
		return mailbox.Message{}, fmt.Errorf("%w: %s", ErrUnknown, prozessID)
	}
	if err != nil {
		return mailbox.Message{}, fmt.Errorf("xdomea: index: %w", err)
	}
	var ie indexEntry
	if err := json.Unmarshal(b, &ie); err != nil {
		return mailbox.Message{}, fmt.Errorf("xdomea: index %s: %w", prozessID, err)
	}
	m, err := c.Store.GetByOSCIMessageID(ctx, mailbox.In, ie.Mailbox, ie.MessageID)
	if errors.Is(err, mailbox.ErrNotFound) {
		return m, fmt.Errorf("%w: %s: message %s of %s not in the store", ErrUnknown, prozessID, ie.MessageID, ie.Mailbox)
	}
	return m, err
}

// journaled reports whether the confirmation file name of prozessID is
// journaled on message id already (a crash between the journal entry and
// the move). A later file about the same Abgabe (an import that failed,
// then succeeded) is journaled too.
func (c *Confirmations) journaled(ctx context.Context, id int64, prozessID, name string) (bool, error) {
	evs, err := c.Store.MessageEvents(ctx, id)
	if err != nil {
		return false, err
	}
	for _, e := range evs {
		if e.Kind != EventFiled && e.Kind != EventFilingRefuse {
			continue
		}
		var d map[string]string
		if json.Unmarshal([]byte(e.Detail), &d) == nil && d["prozessId"] == prozessID && d["file"] == name {
			return true, nil
		}
	}
	return false, nil
}

// move renames a handled file into sub/ durably; a name taken there gets
// a suffix rather than replacing what is there.
func (c *Confirmations) move(name, sub string) error {
	dst := path.Join(sub, name)
	for i := 1; ; i++ {
		if _, err := c.Dir.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = path.Join(sub, fmt.Sprintf("%s.%d", name, i))
	}
	if err := c.Dir.Rename(name, dst); err != nil {
		return fmt.Errorf("xdomea: move confirmation: %w", err)
	}
	if err := durable.SyncDirIn(c.Dir, sub); err != nil {
		return err
	}
	return durable.SyncDirIn(c.Dir, ".")
}

func limit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
