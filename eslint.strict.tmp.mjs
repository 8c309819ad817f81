import base from './eslint.config.js';
import tseslint from 'typescript-eslint';
export default [...base, ...tseslint.configs.strictTypeChecked.map(c => ({...c, files: c.files ?? ['**/*.ts']})), {files:['**/*.ts'], rules: {
 '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
 '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidOperator: true }],
}}];
