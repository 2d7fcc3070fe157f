/** Links a person follows to approve or reject a rollout: signed, expiring, bound to one decision. */
export interface ApprovalLinks {
  pageUrl: string;
  approveUrl: string;
  rejectUrl: string;
  expiresAt: number;
}

export interface ApprovalLinkMaker {
  /** Throws an InvalidConfiguration error when no public base URL is known to build links on. */
  create(rolloutId: string, expiresAt: number): ApprovalLinks;
}
