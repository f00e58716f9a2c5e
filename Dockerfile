# One image for both processes: `npm run api` or `npm run worker` (see docker-compose.yml and
# deploy/kubernetes), and `npm run migrate` for the one-shot migration.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY scripts/build-workflow-bundle.ts ./scripts/
# The workflow bundle is built here, once, from the same sources the worker runs, so a worker polls
# as soon as it has connected instead of spending seconds in webpack at every start. The bundler
# (webpack and swc) comes with @temporalio/worker, a production dependency: no dev install needed.
RUN npm run build:bundle -- /app/dist/workflow-bundle.js
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
USER node
CMD ["npm", "run", "api"]
