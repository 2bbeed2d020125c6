/**
 * Tenant labels as each cloud can carry them: AWS tags and GCP labels. A value is sanitized to the
 * characters the cloud accepts (documented below); what cannot be carried even so (too long, too
 * many, two keys that become one) is a problem, reported when the tenant is placed, before anything
 * is provisioned. Pure and zod-free: the API, the policy activity and the programs use the same.
 */

export type Cloud = 'aws' | 'gcp';

/** Tags or labels every silo resource carries besides the tenant's labels. */
export const SYSTEM_LABEL_KEYS = ['tenant', 'tier', 'managed-by'] as const;

interface CloudLabelRules {
  /** Most tags/labels a resource may have. */
  max: number;
  keyMax: number;
  valueMax: number;
  /** Characters outside this class become `_`. */
  keyChars: RegExp;
  valueChars: RegExp;
  /** A key must match this once sanitized. */
  keyShape: RegExp;
  lowercase: boolean;
}

// AWS (IAM, S3, KMS, RDS, Backup): letters, digits, spaces and `_.:/=+-@`; keys 1–128, values
// 0–256; 50 tags per resource. GCP: lowercase letters (international ones too), digits, `_` and
// `-`; keys start with a letter; both at most 63; 64 labels per resource, one of them the provider's.
const RULES: Record<Cloud, CloudLabelRules> = {
  aws: {
    max: 50,
    keyMax: 128,
    valueMax: 256,
    keyChars: /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu,
    valueChars: /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu,
    keyShape: /^(?!aws:)./u,
    lowercase: false,
  },
  gcp: {
    // 64, less the `goog-pulumi-provisioned` label the provider adds.
    max: 63,
    keyMax: 63,
    valueMax: 63,
    keyChars: /[^\p{Ll}\p{Lo}\p{N}_-]/gu,
    valueChars: /[^\p{Ll}\p{Lo}\p{N}_-]/gu,
    keyShape: /^[\p{Ll}\p{Lo}]/u,
    lowercase: true,
  },
};

export interface CloudLabels {
  labels: Record<string, string>;
  /** What cannot be carried, one line each, naming the label. */
  problems: string[];
}

function sanitize(text: string, chars: RegExp, lowercase: boolean): string {
  return (lowercase ? text.toLowerCase() : text).replace(chars, '_');
}

/** The tags/labels `cloud` gets for `tags` (system ones included), and what cannot be carried. */
export function cloudLabels(cloud: Cloud, tags: Readonly<Record<string, string>>): CloudLabels {
  const rules = RULES[cloud];
  const labels: Record<string, string> = {};
  const from = new Map<string, string>();
  const problems: string[] = [];
  const entries = Object.entries(tags);
  if (entries.length > rules.max)
    problems.push(
      `${entries.length - SYSTEM_LABEL_KEYS.length} labels: ${cloud.toUpperCase()} carries at most ` +
        `${rules.max - SYSTEM_LABEL_KEYS.length} besides ${SYSTEM_LABEL_KEYS.join(', ')}`,
    );
  for (const [key, value] of entries) {
    const k = sanitize(key, rules.keyChars, rules.lowercase);
    const v = sanitize(value, rules.valueChars, rules.lowercase);
    if (k.length === 0 || k.length > rules.keyMax || !rules.keyShape.test(k)) {
      problems.push(`label "${key}": ${cloud.toUpperCase()} cannot carry this key`);
      continue;
    }
    if (v.length > rules.valueMax) {
      problems.push(
        `label "${key}": its value has ${v.length} characters; ${cloud.toUpperCase()} carries at most ${rules.valueMax}`,
      );
      continue;
    }
    const earlier = from.get(k);
    if (earlier !== undefined) {
      problems.push(`labels "${earlier}" and "${key}" would both be "${k}" on ${cloud.toUpperCase()}`);
      continue;
    }
    from.set(k, key);
    labels[k] = v;
  }
  return { labels, problems };
}
