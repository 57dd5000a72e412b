import { isSurveyScale, isValidScore, npsGroup, SCALES, scaleScores, scoreLabels, SURVEY_SCALES, surveyTraitNames } from '../../core';

describe('survey scales', () => {
  it('has the four scales with their ranges', () => {
    expect(SURVEY_SCALES).toEqual(['nps', 'csat', 'ces', 'thumbs']);
    expect(scaleScores('nps')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(scaleScores('csat')).toEqual([1, 2, 3, 4, 5]);
    expect(scaleScores('ces')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(scaleScores('thumbs')).toEqual([0, 1]);
  });

  it('knows a scale name only when it is one (not inherited object keys)', () => {
    expect(isSurveyScale('csat')).toBe(true);
    for (const value of ['NPS', 'stars', 'toString', '__proto__', 5, undefined]) expect(isSurveyScale(value)).toBe(false);
  });

  it.each([
    ['nps', 0, true],
    ['nps', 10, true],
    ['nps', 11, false],
    ['nps', -1, false],
    ['nps', 7.5, false],
    ['csat', 0, false],
    ['csat', 5, true],
    ['ces', 7, true],
    ['ces', 8, false],
    ['thumbs', 1, true],
    ['thumbs', 2, false],
  ] as const)('on %s, %s is valid: %s', (scale, score, valid) => {
    expect(isValidScore(scale, score)).toBe(valid);
  });

  it('refuses scores that are not numbers', () => {
    for (const score of ['5', NaN, Infinity, null, undefined]) expect(isValidScore('nps', score)).toBe(false);
  });

  it('groups NPS scores: detractors 0–6, passives 7–8, promoters 9–10', () => {
    expect(scaleScores('nps').map(npsGroup)).toEqual([
      ...Array(7).fill('detractor'),
      'passive',
      'passive',
      'promoter',
      'promoter',
    ]);
  });

  it('labels every score, with the scale’s words at its ends', () => {
    for (const scale of SURVEY_SCALES) expect(scoreLabels(scale).map((label) => label.score)).toEqual(scaleScores(scale));
    const nps = scoreLabels('nps');
    expect(nps[0]).toEqual({ score: 0, short: '0', long: `0 (${SCALES.nps.low})` });
    expect(nps[5]).toEqual({ score: 5, short: '5', long: '5' });
    expect(nps[10].long).toBe('10 (Extremely likely)');
    expect(scoreLabels('csat').map((label) => label.long)).toEqual([
      '1 (Very dissatisfied)',
      '2 (Dissatisfied)',
      '3 (Neutral)',
      '4 (Satisfied)',
      '5 (Very satisfied)',
    ]);
    expect(scoreLabels('thumbs').map((label) => label.short)).toEqual(['\u{1F44E} No', '\u{1F44D} Yes']);
  });

  it('names the profile traits an answer sets from the survey id', () => {
    expect(surveyTraitNames('delivery-nps')).toEqual({ score: 'last_delivery_nps_score', at: 'last_delivery_nps_at' });
  });
});
