import { formatFields, formatTable } from '../../../infra/cli/table';

describe('cli/table', () => {
  describe('formatTable()', () => {
    it('aligns columns two spaces apart, without trailing spaces', () => {
      const text = formatTable(
        ['status', 'count'],
        [
          ['sent', '12'],
          ['opted_out', '3'],
        ],
      );

      expect(text.split('\n')).toEqual(['status     count', 'sent       12', 'opted_out  3']);
    });

    it('right-aligns the columns asked, and indents every line', () => {
      const text = formatTable(
        ['Page', 'total'],
        [
          ['111', '5'],
          ['22', '120'],
        ],
        {
          align: [undefined, 'right'],
          indent: '  ',
        },
      );

      expect(text.split('\n')).toEqual(['  Page  total', '  111       5', '  22      120']);
    });

    it('counts … and → as one character each, and leaves missing cells blank', () => {
      const text = formatTable(
        ['id', 'to', 'n'],
        [
          ['abc…', '→'],
          ['abcdef', 'xy', '1'],
        ],
      );

      expect(text.split('\n')).toEqual(['id      to  n', 'abc…    →', 'abcdef  xy  1']);
    });
  });

  describe('formatFields()', () => {
    it('aligns values after the longest key and leaves out undefined ones', () => {
      const text = formatFields(
        [
          ['status', 'sent'],
          ['next attempt', undefined],
          ['window', 'open'],
        ],
        '  ',
      );

      expect(text.split('\n')).toEqual(['  status  sent', '  window  open']);
    });
  });
});
