package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/errlog/errlog/errlogd/alert"
	"github.com/errlog/errlog/errlogd/store"
)

// checkRuleProjects refuses a rules file whose rule names a project (by
// name or id) that the store does not have: such a rule would never fire,
// silently.
func checkRuleProjects(ctx context.Context, st store.Store, cfg *alert.Config, path, db string) error {
	if cfg == nil {
		return nil
	}
	ps, err := st.Projects(ctx)
	if err != nil {
		return err
	}
	for _, r := range cfg.Rules {
		if r.Project == "" {
			continue
		}
		found := false
		for _, p := range ps {
			if r.Project == p.Name || r.Project == strconv.FormatInt(p.ID, 10) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("errlogd: %s: rule %q names project %q, which %s does not have (errlogd project list shows them)", path, r.Name, r.Project, db)
		}
	}
	return nil
}
