package eeb

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Summary is the deadline guard's view: what waits for a person.
type Summary struct {
	Open         int     `json:"open"`         // tasks not answered yet
	Overdue      int     `json:"overdue"`      // open longer than OverdueAfterDays
	OverdueTasks []int64 `json:"overdueTasks"` // their ids, oldest first (at most 100)
	// OverdueAfterDays is the configured limit (eeb.overdue_after_days).
	OverdueAfterDays int `json:"overdueAfterDays"`
	Unmatched        int `json:"unmatchedReplies"` // courts' eEB answers matching none of our messages
}

// maxListed bounds the task ids a summary names.
const maxListed = 100

// Summary counts the open and overdue tasks and the unmatched replies.
func (s *Service) Summary(ctx context.Context) (Summary, error) {
	sum := Summary{OverdueAfterDays: int(s.c.OverdueAfter / (24 * time.Hour)), OverdueTasks: []int64{}}
	limit := s.c.Now().Add(-s.c.OverdueAfter)
	for after := int64(0); ; {
		ts, err := s.c.Tasks.Tasks(ctx, Filter{States: []State{StateOpen, StateAnswering}, AfterID: after, Limit: 500})
		if err != nil {
			return Summary{}, err
		}
		for _, t := range ts {
			sum.Open++
			if t.ReceivedAt.Before(limit) {
				sum.Overdue++
				if len(sum.OverdueTasks) < maxListed {
					sum.OverdueTasks = append(sum.OverdueTasks, t.ID)
				}
			}
			after = t.ID
		}
		if len(ts) < 500 {
			break
		}
	}
	un, err := s.c.Tasks.Unmatched(ctx)
	if err != nil {
		return Summary{}, err
	}
	sum.Unmatched = len(un)
	return sum, nil
}

// Guard is the deadline guard's round: it finishes half-done answers
// (Resume), reports the summary to report (the metrics), and logs one
// line a day while tasks are overdue. Nothing is ever answered here.
type Guard struct {
	S       *Service
	Report  func(Summary)
	lastDay string
}

// Round runs the guard once.
func (g *Guard) Round(ctx context.Context) error {
	if err := g.S.Resume(ctx); err != nil {
		return err
	}
	sum, err := g.S.Summary(ctx)
	if err != nil {
		return err
	}
	if g.Report != nil {
		g.Report(sum)
	}
	today := g.S.c.Now().In(berlin).Format(time.DateOnly)
	if today == g.lastDay || (sum.Overdue == 0 && sum.Unmatched == 0) {
		return nil
	}
	g.lastDay = today
	if sum.Overdue > 0 {
		g.S.c.Logger.Warn("eEB tasks overdue: courts wait for an acknowledgement or rejection (eeb list)",
			zap.Int("overdue", sum.Overdue), zap.Int("open", sum.Open), zap.Int("overdueAfterDays", sum.OverdueAfterDays),
			zap.Int64s("tasks", sum.OverdueTasks))
	}
	if sum.Unmatched > 0 {
		g.S.c.Logger.Warn("eEB answers of courts match none of our messages (eeb list)", zap.Int("unmatched", sum.Unmatched))
	}
	return nil
}
