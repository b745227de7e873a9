// /api/v1/rules and /api/v1/alerts for a tenant: as prom-label-proxy does, a rule is shown when its
// own labels put it in the tenant's scope (label your rules with the tenant label); an alert when
// its labels do. A kept alerting rule shows only its alerts in scope, and a group left without
// rules is dropped. Anything else in the answer passes as it is.
import type { TenantScope } from '../../src/kernel/request-state.ts';

type Labels = Readonly<Record<string, string>>;
export type LabelsInScope = (labels: Labels, scope: TenantScope) => boolean;

interface ApiAnswer {
  status?: unknown;
  data?: { groups?: unknown; alerts?: unknown };
}
interface Rule {
  labels?: Labels | null;
  alerts?: Array<{ labels?: Labels | null }> | null;
}

/** The rules or alerts answer with only what the scope may see. */
export function filterRuleGroups(json: unknown, scope: TenantScope, labelsInScope: LabelsInScope): unknown {
  const answer = json as ApiAnswer;
  const data = answer?.data;
  if (answer?.status !== 'success' || typeof data !== 'object' || data === null) return json;
  const visible = (labels: Labels | null | undefined) => labelsInScope(labels ?? {}, scope);
  if (Array.isArray(data.alerts))
    data.alerts = (data.alerts as Array<{ labels?: Labels | null }>).filter((alert) => visible(alert.labels));
  if (Array.isArray(data.groups)) {
    data.groups = (data.groups as Array<{ rules?: Rule[] | null }>).flatMap((group) => {
      const rules = (group.rules ?? []).filter((rule) => visible(rule.labels));
      for (const rule of rules)
        if (Array.isArray(rule.alerts)) rule.alerts = rule.alerts.filter((alert) => visible(alert.labels));
      return rules.length > 0 ? [{ ...group, rules }] : [];
    });
  }
  return answer;
}
