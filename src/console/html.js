// htm turns tagged template literals into Preact elements: JSX-like templates with no compiler.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
