/** Types of the two `jstat` distributions the scorecard uses (the package ships no types; CommonJS, so a default import). */
declare module 'jstat' {
  const jstat: {
    jStat: {
      studentt: { inv(p: number, dof: number): number };
      chisquare: { inv(p: number, dof: number): number };
    };
  };
  export default jstat;
}
