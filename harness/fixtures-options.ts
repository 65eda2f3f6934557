/** Options a Playwright project sets for the conformance fixtures. */
export interface CandidateOptions {
  /** Which candidate driver the project runs against: `synapse`, `dendrite`, `external`, ... */
  candidateName: string;
}
