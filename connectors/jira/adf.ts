/**
 * Atlassian Document Format, as far as grantline writes it, and the comment body Jira takes in
 * both of its forms. Its own module because the client (issue descriptions, comments) and the
 * write-back (notes) both build it, and the write-back calls the client.
 */

/** An Atlassian Document Format node, as far as grantline writes them. */
export type AdfNode = {
  readonly type: string;
  readonly text?: string;
  readonly marks?: readonly { type: string }[];
  readonly content?: AdfNode[];
};
export type AdfDoc = {
  readonly type: 'doc';
  readonly version: 1;
  readonly content: AdfNode[];
};

/** A Jira comment body in both of Jira's forms: a document for Cloud (v3), text for Data Center and JSM requests. */
export interface JiraCommentBody {
  readonly text: string;
  readonly adf: AdfDoc;
}

/** A paragraph node. */
export const adfParagraph = (content: AdfNode[]): AdfNode => ({ type: 'paragraph', content });
/** A text node, bold when `strong`. */
export const adfTextNode = (value: string, strong = false): AdfNode => (strong ? { type: 'text', text: value, marks: [{ type: 'strong' }] } : { type: 'text', text: value });

/** Atlassian Document Format for plain multi-line text: one paragraph a line. */
export function adfText(value: string): AdfDoc {
  return { type: 'doc', version: 1, content: value.split('\n').map((line) => adfParagraph(line === '' ? [] : [adfTextNode(line)])) };
}
